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
    public static Func<RequestDelegate, RequestDelegate> Create(TimeProvider time) => next => context =>
        (GatewayMetrics.Requests.Enabled || GatewayTracing.Source.HasListeners()) && context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
            ? ObserveAsync(next, context, time)
            : next(context);

    private static async Task ObserveAsync(RequestDelegate next, HttpContext context, TimeProvider time)
    {
        bool metrics = GatewayMetrics.Requests.Enabled;
        var request = GatewayRequest.Of(context);
        request.Exchange.RecordLabels = metrics;
        using var activity = StartActivity(context);
        if (metrics)
        {
            GatewayMetrics.ActiveRequests.Add(1);
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
                GatewayMetrics.ActiveRequests.Add(-1);
                var tags = new TagList
                {
                    { "gateway.key", request.Caller?.Name ?? "none" },
                    { "gen_ai.request.model", exchange.ModelLabel ?? "none" },
                    { "gen_ai.provider.name", exchange.ServedProvider ?? "none" },
                    { "gen_ai.response.model", exchange.ServedLabel ?? "none" },
                    { "status_class", GatewayMetrics.StatusClass(status) },
                };
                GatewayMetrics.Requests.Add(1, tags);
                long now = time.GetTimestamp();
                GatewayMetrics.RequestDuration.Record(time.GetElapsedTime(exchange.StartTimestamp, now).TotalSeconds, tags);
                if (exchange.FirstByteTimestamp != 0 && exchange.Stream)
                {
                    GatewayMetrics.TimeToFirstToken.Record(time.GetElapsedTime(exchange.StartTimestamp, exchange.FirstByteTimestamp).TotalSeconds, tags);
                }
            }
            if (activity is not null)
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

    /// <summary>The request span, a child of the client's traceparent (not of ASP.NET Core's own, unexported activity).</summary>
    private static Activity? StartActivity(HttpContext context)
    {
        if (!GatewayTracing.Source.HasListeners())
        {
            return null;
        }
        var headers = context.Request.Headers;
        ActivityContext.TryParse(headers["traceparent"].ToString(), headers["tracestate"].ToString(), isRemote: true, out var parent);
        var activity = GatewayTracing.Source.StartActivity(ActivityKind.Server, parent, name: "gateway.request");
        if (activity is not null)
        {
            activity.DisplayName = context.Request.Method + " " + context.Request.Path.Value;
            activity.SetTag("http.request.method", context.Request.Method);
            activity.SetTag("url.path", context.Request.Path.Value);
        }
        return activity;
    }
}
