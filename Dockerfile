# Gateway container image. Build: docker build -t gateway .   Run: see README, "Running N replicas".
# The SDK image builds; the ASP.NET runtime image runs, as the non-root "app" user the .NET images define.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN dotnet restore src/Gateway.Server/Gateway.Server.csproj
RUN dotnet publish src/Gateway.Server/Gateway.Server.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# The bundled price table, outside /etc/gateway (a mounted config hides what the image has there).
COPY resources/pricing.yaml /app/resources/pricing.yaml
# A default config that listens on every interface; mount yours over /etc/gateway (Kubernetes: a ConfigMap).
COPY deploy/kubernetes/config.yaml /etc/gateway/config.yaml
ENV GATEWAY_CONFIG=/etc/gateway/config.yaml
EXPOSE 8080
USER $APP_UID
# No curl in the runtime image: the gateway probes itself.
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 CMD ["dotnet", "/app/gateway.dll", "--probe", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["dotnet", "/app/gateway.dll"]
