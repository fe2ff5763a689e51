using System.Diagnostics;
using System.Net;
using Gateway.Core.Routing;

namespace Gateway.Core.Proxy;

/// <summary>Step 4's request: the upstream URI, the client's allowed headers, the provider's headers and credentials, our request id and trace.</summary>
internal static class UpstreamRequest
{
    /// <param name="trace">The span whose context goes to the provider as traceparent (none: the client's passes through).</param>
    public static HttpRequestMessage Build(in RouteTarget target, RequestContext context, HttpContent content, Activity? trace)
    {
        var provider = target.Provider;
        var proxied = context.Request;
        var request = new HttpRequestMessage(HttpMethod.Post, provider.Type.UpstreamUri(context, target)) { Content = content };
        if (provider.Config.BaseUrl.Scheme == Uri.UriSchemeHttps)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        }
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        HeaderPolicy.CopyRequestHeaders(context.Client, request, proxied.Exchange.ForwardedHeaders);
        request.Headers.TryAddWithoutValidation("X-Request-Id", proxied.RequestId);
        foreach (var (name, value) in provider.Config.Headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value.Reveal());
        }
        provider.Type.Authenticate(request.Headers, provider);
        if (content is Providers.Translation.TranslatedRequest { Facts.Native: true } && proxied.Native?.Beta is { } beta)
        {
            // The client's own beta flags go to a provider of its API, beside the provider's configured ones.
            request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
        }
        if (trace is not null)
        {
            request.Headers.Remove("traceparent");
            request.Headers.Remove("tracestate");
            request.Headers.TryAddWithoutValidation("traceparent", trace.Id);
            if (trace.TraceStateString is { } state)
            {
                request.Headers.TryAddWithoutValidation("tracestate", state);
            }
        }
        return request;
    }
}
