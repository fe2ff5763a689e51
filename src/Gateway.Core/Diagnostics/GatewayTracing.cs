using System.Diagnostics;

namespace Gateway.Core.Diagnostics;

/// <summary>The gateway's spans: one per request (transport), one per upstream attempt (Core). No listener: no cost.</summary>
internal static class GatewayTracing
{
    public const string SourceName = "Gateway";

    public static readonly ActivitySource Source = new(SourceName, "1.0");

    /// <summary>
    /// The request span, when the request is sampled: a client's W3C traceparent decides for its own trace (its sampled
    /// flag); a trace the gateway starts is sampled at <paramref name="sampleRatio"/>. An unsampled request gets no span
    /// and allocates nothing: the client's traceparent, if any, then passes to the provider unchanged (as with traces off).
    /// </summary>
    public static Activity? StartRequest(string? traceparent, string? tracestate, double sampleRatio, string method, string path)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        if (ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out var parent))
        {
            if ((parent.TraceFlags & ActivityTraceFlags.Recorded) == 0)
            {
                return null;
            }
        }
        else if (sampleRatio < 1 && Random.Shared.NextDouble() >= sampleRatio)
        {
            return null;
        }
        var activity = Source.StartActivity(ActivityKind.Server, parent, name: "gateway.request");
        if (activity is { IsAllDataRequested: true })
        {
            activity.DisplayName = string.Concat(method, " ", path);
            activity.SetTag("http.request.method", method);
            activity.SetTag("url.path", path);
        }
        return activity;
    }

    /// <summary>The gateway's request span in this flow, if there is one.</summary>
    public static Activity? CurrentRequest => Activity.Current is { } current && current.Source == Source ? current : null;

    /// <summary>
    /// An upstream attempt's span, named by GenAI conventions ("chat gpt-4o"): only under a recorded request span, so
    /// an attempt is never sampled on its own (no orphan traces).
    /// </summary>
    public static Activity? StartAttempt(string path, string provider, ReadOnlySpan<byte> modelUtf8, string host, int attempt)
    {
        if (CurrentRequest is not { Recorded: true } request)
        {
            return null;
        }
        var activity = Source.StartActivity(ActivityKind.Client, request.Context, name: "gateway.attempt");
        if (activity is null)
        {
            return null;
        }
        var model = System.Text.Encoding.UTF8.GetString(modelUtf8);
        var operation = Operation(path);
        activity.DisplayName = string.Concat(operation, " ", model);
        activity.SetTag("gen_ai.operation.name", operation);
        activity.SetTag("gen_ai.provider.name", provider);
        activity.SetTag("gen_ai.request.model", model);
        activity.SetTag("server.address", host);
        activity.SetTag("gateway.attempt", attempt);
        return activity;
    }

    /// <summary>The GenAI operation for an endpoint below /v1/.</summary>
    public static string Operation(string path) => path switch
    {
        "chat/completions" => "chat",
        "completions" => "text_completion",
        "embeddings" => "embeddings",
        "responses" => "chat",
        _ => "generate_content",
    };
}
