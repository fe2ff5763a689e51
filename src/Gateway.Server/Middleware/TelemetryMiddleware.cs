using System.Diagnostics;
using Gateway.Core.Diagnostics;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// Metrics and the request span for the API (/v1/*): requests by key, requested model, serving provider and
/// model and status class; duration; time to first token; requests in flight. The span continues the client's
/// W3C traceparent (the upstream attempts are its children). Nothing listening: a couple of checks per request.
/// </summary>
internal static class TelemetryMiddleware
{
    public static Func<RequestDelegate, RequestDelegate> Create(TimeProvider time, double sampleRatio) => next => context =>
        (GatewayMetrics.Requests.Enabled || GatewayTracing.Source.HasListeners()) && context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
            ? ObserveAsync(next, context, time, sampleRatio)
            : next(context);

    private static async Task ObserveAsync(RequestDelegate next, HttpContext context, TimeProvider time, double sampleRatio)
    {
        bool metrics = GatewayMetrics.Requests.Enabled;
        var request = GatewayRequest.Of(context);
        request.Exchange.RecordLabels = metrics;
        using var activity = GatewayTracing.Source.HasListeners() ? StartActivity(context.Request, sampleRatio) : null;
        if (metrics)
        {
            GatewayMetrics.RequestStarted();
        }
        try
        {
            await next(context);
        }
        finally
        {
            var exchange = request.Exchange;
            int status = context.Response.StatusCode;
            if (metrics)
            {
                GatewayMetrics.RequestEnded();
                GatewayMetrics.RecordRequest(exchange, request.Caller?.Name, status, time.GetTimestamp(), time);
            }
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("http.response.status_code", status);
                activity.SetTag("gateway.key", request.Caller?.Name);
                activity.SetTag("gen_ai.request.model", exchange.RequestedModel ?? exchange.ModelLabel);
                activity.SetTag("gen_ai.provider.name", exchange.ServedProvider);
                activity.SetTag("gen_ai.response.model", exchange.ServedBy);
                activity.SetTag("gateway.attempts", exchange.Attempts);
                if (status >= 500 || request.Outcome is not (Core.Proxy.GatewayError.None or Core.Proxy.GatewayError.ClientClosedRequest))
                {
                    activity.SetStatus(ActivityStatusCode.Error, request.Outcome.ToString());
                }
            }
        }
    }

    /// <summary>The request span, a child of the client's traceparent (ASP.NET Core's own activity is off: see GatewayHost).</summary>
    private static Activity? StartActivity(HttpRequest request, double sampleRatio) => GatewayTracing.StartRequest(
        request.Headers["traceparent"].ToString(), request.Headers["tracestate"].ToString(), sampleRatio, request.Method, request.Path.Value ?? "/");
}
