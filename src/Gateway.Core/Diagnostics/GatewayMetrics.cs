using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Core.Proxy;

namespace Gateway.Core.Diagnostics;

/// <summary>
/// The gateway's instruments (System.Diagnostics.Metrics). The host exports them with OpenTelemetry (Prometheus on
/// GET /metrics, OTLP); with no exporter listening, recording costs a check. GenAI semantic-convention names where
/// one exists, gateway.* otherwise. Label values are bounded: unknown model names become "_other".
/// </summary>
internal static class GatewayMetrics
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

    // In-flight counts are plain interlocked counters read at collection: no SDK call on the request path.
    private static long s_activeRequests;
    private static long s_activeStreams;

    public static readonly ObservableUpDownCounter<long> ActiveRequests = Meter.CreateObservableUpDownCounter(
        "gateway.requests.active", static () => Volatile.Read(ref s_activeRequests), "{request}", "Requests in flight.");

    public static readonly ObservableUpDownCounter<long> ActiveStreams = Meter.CreateObservableUpDownCounter(
        "gateway.streams.active", static () => Volatile.Read(ref s_activeStreams), "{stream}", "Event streams being relayed to clients.");

    public static readonly Histogram<double> AttemptDuration = Meter.CreateHistogram(
        "gateway.upstream.attempt.duration", "s", "One upstream attempt, up to its commit point or failure, by provider and outcome.", advice: s_seconds);

    public static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>(
        "gateway.fallbacks", "{fallback}", "Moves from one target's provider to the next, by reason.");

    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram(
        "gen_ai.client.token.usage", "{token}", "Tokens per answer as the provider reported them (input = prompt, output = completion).", advice: s_tokens);

    public static readonly Counter<double> Cost = Meter.CreateCounter<double>(
        "gateway.cost.usd", "{USD}", "What answers cost in USD (pricing section), by gateway key, serving provider and model.");

    public static readonly Counter<long> Unpriced = Meter.CreateCounter<long>(
        "gateway.cost.unpriced", "{answer}", "Answers whose cost is unknown because their model has no price, by provider and model.");

    public static readonly Counter<long> StateFallback = Meter.CreateCounter<long>(
        "gateway.state.fallback", "{request}", "Requests of limited keys decided by this replica's local share because Redis was not in use.");

    public static readonly Counter<long> StateBorrowed = Meter.CreateCounter<long>(
        "gateway.state.borrowed", "{request}", "Requests of limited keys admitted from a batch this replica borrowed from Redis, without a call of their own.");

    public static readonly Counter<long> Shed = Meter.CreateCounter<long>(
        "gateway.overload.shed", "{request}", "API requests refused with 503 overloaded, by reason (concurrency, memory).");

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

    public static void RequestStarted() => Interlocked.Increment(ref s_activeRequests);

    public static void RequestEnded() => Interlocked.Decrement(ref s_activeRequests);

    public static void StreamStarted() => Interlocked.Increment(ref s_activeStreams);

    public static void StreamEnded() => Interlocked.Decrement(ref s_activeStreams);

    /// <summary>
    /// A finished API request: the counter by key, requested model, serving provider and model and status class; the
    /// duration by serving provider and model and status class; a started stream's time to first token by serving
    /// provider and model. (Histograms carry fewer labels: each label set costs a series per bucket, and per-key
    /// latency is rarely what an operator looks for.)
    /// </summary>
    public static void RecordRequest(ExchangeInfo exchange, string? key, int status, long endTimestamp, TimeProvider time)
    {
        var provider = exchange.ServedProvider ?? "none";
        var model = exchange.ServedLabel ?? "none";
        var statusClass = StatusClass(status);
        Requests.Add(1, new TagList
        {
            { "gateway.key", key ?? "none" },
            { "gen_ai.request.model", exchange.ModelLabel ?? "none" },
            { "gen_ai.provider.name", provider },
            { "gen_ai.response.model", model },
            { "status_class", statusClass },
        });
        RequestDuration.Record(time.GetElapsedTime(exchange.StartTimestamp, endTimestamp).TotalSeconds, new TagList
        {
            { "gen_ai.provider.name", provider }, { "gen_ai.response.model", model }, { "status_class", statusClass },
        });
        if (exchange.FirstByteTimestamp != 0 && exchange.Stream)
        {
            TimeToFirstToken.Record(time.GetElapsedTime(exchange.StartTimestamp, exchange.FirstByteTimestamp).TotalSeconds, new TagList
            {
                { "gen_ai.provider.name", provider }, { "gen_ai.response.model", model },
            });
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
