using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Core.Proxy;

namespace Gateway.Core.Diagnostics;

/// <summary>
/// The gateway's instruments (System.Diagnostics.Metrics). The host exports them with OpenTelemetry (Prometheus on
/// GET /metrics, OTLP); with no exporter listening, recording costs a check. GenAI semantic-convention names where
/// one exists, gateway.* otherwise. Label values are bounded: unknown model names become "_other".
/// </summary>
public static class GatewayMetrics
{
    public const string MeterName = "Gateway";

    /// <summary>The label value of models outside the config and the model list (bounded cardinality).</summary>
    public const string OtherModel = "_other";

    // From 1 ms to two minutes: both a cached answer and a long generation land in a useful bucket.
    private static readonly InstrumentAdvice<double> s_seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    };

    private static readonly InstrumentAdvice<long> s_tokens = new()
    {
        HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576],
    };

    public static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "gateway.requests", "{request}", "Requests by gateway key, requested model, serving provider and model, and status class.");

    public static readonly Histogram<double> RequestDuration = Meter.CreateHistogram(
        "gateway.request.duration", "s", "From the request's arrival to the end of its response.", advice: s_seconds);

    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram(
        "gen_ai.server.time_to_first_token", "s", "From the request's arrival to the first byte of the answer sent to the client.", advice: s_seconds);

    public static readonly UpDownCounter<long> ActiveRequests = Meter.CreateUpDownCounter<long>(
        "gateway.requests.active", "{request}", "Requests in flight.");

    public static readonly UpDownCounter<long> ActiveStreams = Meter.CreateUpDownCounter<long>(
        "gateway.streams.active", "{stream}", "Event streams being relayed to clients.");

    public static readonly Histogram<double> AttemptDuration = Meter.CreateHistogram(
        "gateway.upstream.attempt.duration", "s", "One upstream attempt, up to its commit point or failure, by provider and outcome.", advice: s_seconds);

    public static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>(
        "gateway.fallbacks", "{fallback}", "Moves from one target's provider to the next, by reason.");

    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram(
        "gen_ai.client.token.usage", "{token}", "Tokens per answer as the provider reported them (input = prompt, output = completion).", advice: s_tokens);

    public static readonly Counter<long> ModelRefreshes = Meter.CreateCounter<long>(
        "gateway.models.refreshes", "{refresh}", "Model-list fetches by provider and result.");

    public static string StatusClass(int status) => status switch
    {
        < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };

    /// <summary>
    /// A finished API request: the request counter, its duration and, for a stream that started, its time to first
    /// token, all under one label set (the key, the requested model, the serving provider and model, the status class).
    /// </summary>
    public static void RecordRequest(ExchangeInfo exchange, string? key, int status, long endTimestamp, TimeProvider time)
    {
        var tags = new TagList
        {
            { "gateway.key", key ?? "none" },
            { "gen_ai.request.model", exchange.ModelLabel ?? "none" },
            { "gen_ai.provider.name", exchange.ServedProvider ?? "none" },
            { "gen_ai.response.model", exchange.ServedLabel ?? "none" },
            { "status_class", StatusClass(status) },
        };
        Requests.Add(1, tags);
        RequestDuration.Record(time.GetElapsedTime(exchange.StartTimestamp, endTimestamp).TotalSeconds, tags);
        if (exchange.FirstByteTimestamp != 0 && exchange.Stream)
        {
            TimeToFirstToken.Record(time.GetElapsedTime(exchange.StartTimestamp, exchange.FirstByteTimestamp).TotalSeconds, tags);
        }
    }

    public static void RecordAttempt(string provider, string outcome, TimeSpan duration)
    {
        if (AttemptDuration.Enabled)
        {
            AttemptDuration.Record(duration.TotalSeconds, new TagList { { "gen_ai.provider.name", provider }, { "outcome", outcome } });
        }
    }
}

/// <summary>The gateway's spans: one per request (transport), one per upstream attempt (Core). No listener: no cost.</summary>
public static class GatewayTracing
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
