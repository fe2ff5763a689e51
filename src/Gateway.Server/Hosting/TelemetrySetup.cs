using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gateway.Server.Hosting;

internal static class TelemetrySetup
{
    /// <summary>OpenTelemetry: the gateway's meter to Prometheus (GET /metrics) and OTLP; its spans, sampled, to OTLP.</summary>
    public static void Add(IServiceCollection services, TelemetryConfig telemetry, GatewayHostOptions options)
    {
        if (!telemetry.Metrics && !telemetry.Traces)
        {
            return;
        }
        var otel = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("gateway"));
        if (telemetry.Metrics)
        {
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayMetrics.MeterName).AddPrometheusExporter();
                if (telemetry.OtlpEndpoint is { } endpoint)
                {
                    metrics.AddOtlpExporter(o => Otlp(o, endpoint, telemetry.OtlpHttp, "v1/metrics"));
                }
            });
        }
        if (telemetry.Traces)
        {
            otel.WithTracing(tracing =>
            {
                // Sampling is decided before a span exists (GatewayTracing.StartRequest: the client's flag, else the ratio),
                // so an unsampled request allocates nothing; what reaches the SDK is sampled.
                tracing.AddSource(GatewayTracing.SourceName).SetSampler(new ParentBasedSampler(new AlwaysOnSampler()));
                if (telemetry.OtlpEndpoint is { } endpoint)
                {
                    tracing.AddOtlpExporter(o => Otlp(o, endpoint, telemetry.OtlpHttp, "v1/traces"));
                }
                options.ConfigureTracing?.Invoke(tracing);
            });
        }
    }

    private static void Otlp(OtlpExporterOptions options, Uri endpoint, bool http, string signalPath)
    {
        options.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        options.Endpoint = http ? new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + signalPath) : endpoint;
    }
}
