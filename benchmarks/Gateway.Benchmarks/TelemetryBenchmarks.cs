using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Diagnostics;
using Gateway.Core.Proxy;
using Gateway.Core.ResponseHooks;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Gateway.Benchmarks;

/// <summary>
/// What one request records when telemetry is on, with the OpenTelemetry SDK listening as the gateway configures it
/// (the gateway's meter; its spans sampled at 10%) or with nothing listening: the in-flight gauge, the request span
/// and its attempt span, the attempt duration, token usage read from the answer's tail, the request counter and
/// duration (and, for a stream, time to first token). The request's own CPU cost is in the load report; this is the
/// part telemetry adds to it, without the noise of a whole-gateway run.
/// </summary>
public class TelemetryBenchmarks
{
    private static readonly byte[] s_answer = """
        {"id":"chatcmpl-1","object":"chat.completion","created":1741570283,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}
        """u8.ToArray();

    private static readonly byte[] s_model = "m"u8.ToArray();

    private readonly ExchangeInfo _exchange = new() { ModelLabel = "mock/m", ServedProvider = "mock", ServedLabel = "mock/m", RecordLabels = true };
    private MeterProvider? _meters;
    private TracerProvider? _traces;

    /// <summary>off, metrics, traces (10% sampled) or both.</summary>
    [Params("off", "metrics", "traces", "both")]
    public string Listening { get; set; } = "off";

    [GlobalSetup]
    public void Setup()
    {
        if (Listening is "metrics" or "both")
        {
            _meters = Sdk.CreateMeterProviderBuilder().AddMeter(GatewayMetrics.MeterName).AddInMemoryExporter(new List<Metric>()).Build();
        }
        if (Listening is "traces" or "both")
        {
            _traces = Sdk.CreateTracerProviderBuilder().AddSource(GatewayTracing.SourceName)
                .SetSampler(new ParentBasedSampler(new AlwaysOnSampler())).Build();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _meters?.Dispose();
        _traces?.Dispose();
    }

    [Benchmark]
    public void JsonRequest() => Request(stream: false);

    [Benchmark]
    public void StreamRequest() => Request(stream: true);

    private void Request(bool stream)
    {
        long started = Stopwatch.GetTimestamp();
        _exchange.StartTimestamp = started;
        _exchange.Stream = stream;
        bool metrics = GatewayMetrics.Requests.Enabled;
        using var request = GatewayTracing.Source.HasListeners() ? GatewayTracing.StartRequest(null, null, 0.1, "POST", "/v1/chat/completions") : null;
        if (metrics)
        {
            GatewayMetrics.RequestStarted();
        }
        using (GatewayTracing.Source.HasListeners() ? GatewayTracing.StartAttempt("chat/completions", "mock", s_model, "127.0.0.1", 1) : null)
        {
            GatewayMetrics.RecordAttempt("mock", "ok", TimeSpan.FromMilliseconds(1));
        }
        _exchange.FirstByteTimestamp = Stopwatch.GetTimestamp();
        if (GatewayMetrics.TokenUsage.Enabled)
        {
            using var usage = new UsageTap(stream);
            if (stream)
            {
                usage.OnData(s_answer, answerComplete: true);
                GatewayMetrics.StreamStarted();
                GatewayMetrics.StreamEnded();
            }
            else
            {
                usage.Append(s_answer);
            }
            usage.Record(_exchange, "team-a");
        }
        if (metrics)
        {
            GatewayMetrics.RequestEnded();
            GatewayMetrics.RecordRequest(_exchange, "team-a", 200, Stopwatch.GetTimestamp(), TimeProvider.System);
        }
    }
}
