using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using OpenTelemetry.Trace;

namespace Gateway.Server.Tests;

/// <summary>Prometheus metrics after a known mix of requests, and the span tree with W3C trace context propagation.</summary>
public sealed partial class TelemetryTests
{
    private static readonly TimeSpan Signal = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Metrics_CountAKnownMixOfRequests_WithBoundedLabels()
    {
        await using var ok = await MockProviderServer.StartAsync();
        await using var bad = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var limited = await MockProviderServer.StartAsync(new MockBehavior { Status = 429, RetryAfter = "600" });
        var environment = TestGateway.Environment(("MT_KEY", "metrics-team-key-123"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            auth: { keys: [ { name: mt-team, key: "${MT_KEY}" } ] }
            strategies:
              mt-smart: { targets: [mtbad/x, mtok/mock-model] }
            """, ("mtok", ok.BaseUrl, ""), ("mtbad", bad.BaseUrl, "retries: 0"), ("mtlimited", limited.BaseUrl, "retries: 0")), environment: environment);
        await gateway.WaitForCatalogAsync(c => c.Contains("mtok/mock-model"));
        void Key(HttpRequestMessage r) => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "metrics-team-key-123");

        for (int i = 0; i < 2; i++)
        {
            (await gateway.PostAsync("/v1/chat/completions", """{"model":"mtok/mock-model"}""", Key)).Dispose();
        }
        (await gateway.PostAsync("/v1/chat/completions", """{"model":"mt-smart"}""", Key)).Dispose();
        (await gateway.PostAsync("/v1/chat/completions", """{"model":"mtlimited/mock-model"}""", Key)).Dispose();
        (await gateway.PostAsync("/v1/chat/completions", """{"model":"mtok/not-listed-anywhere"}""", Key)).Dispose();
        using (var stream = await gateway.PostAsync("/v1/chat/completions", """{"model":"mtok/mock-model","stream":true,"stream_options":{"include_usage":true}}""", Key))
        {
            await stream.Content.ReadAsStringAsync();
        }
        // Usage is read as each answer passes and recorded before the response completes: the last request (a chunked
        // stream, read to its end) has been recorded too.

        var metrics = await gateway.Client.GetStringAsync("/metrics");

        // Two JSON answers and the stream.
        Assert.Equal(3, Value(metrics, "gateway_requests_total", ("gateway_key", "mt-team"), ("gen_ai_request_model", "mtok/mock-model"), ("gen_ai_provider_name", "mtok"), ("gen_ai_response_model", "mtok/mock-model"), ("status_class", "2xx")));
        Assert.Equal(1, Value(metrics, "gateway_requests_total", ("gen_ai_request_model", "mt-smart"), ("gen_ai_provider_name", "mtok"), ("gen_ai_response_model", "mtok/mock-model"), ("status_class", "2xx")));
        Assert.Equal(1, Value(metrics, "gateway_requests_total", ("gen_ai_request_model", "mtlimited/mock-model"), ("gen_ai_provider_name", "mtlimited"), ("status_class", "4xx")));
        Assert.Equal(1, Value(metrics, "gateway_requests_total", ("gen_ai_request_model", "_other"), ("gen_ai_provider_name", "mtok"), ("status_class", "2xx")));
        Assert.DoesNotContain("not-listed-anywhere", metrics, StringComparison.Ordinal);
        Assert.Equal(1, Value(metrics, "gateway_fallbacks_total", ("from", "mtbad"), ("reason", "server_error"), ("to", "mtok")));
        Assert.Equal(1, Value(metrics, "gateway_upstream_attempt_duration_seconds_count", ("gen_ai_provider_name", "mtbad"), ("outcome", "server_error")));
        Assert.Equal(1, Value(metrics, "gateway_upstream_attempt_duration_seconds_count", ("gen_ai_provider_name", "mtlimited"), ("outcome", "rate_limited")));
        Assert.Equal(1, Value(metrics, "gen_ai_server_time_to_first_token_seconds_count", ("gen_ai_provider_name", "mtok"), ("gen_ai_response_model", "mtok/mock-model")));
        // Latency histograms by what served (two direct answers, the strategy's, the stream), not by key or requested name.
        Assert.Equal(4, Value(metrics, "gateway_request_duration_seconds_count", ("gen_ai_provider_name", "mtok"), ("gen_ai_response_model", "mtok/mock-model"), ("status_class", "2xx")));
        Assert.DoesNotContain(metrics.Split('\n'), line => line.StartsWith("gateway_request_duration_seconds", StringComparison.Ordinal)
            && (line.Contains("gateway_key=", StringComparison.Ordinal) || line.Contains("gen_ai_request_model=", StringComparison.Ordinal)));
        // Input tokens served as mtok/mock-model: two direct answers and the strategy's (12 each), the stream's usage chunk (9).
        Assert.Equal(45, Value(metrics, "gen_ai_client_token_usage_sum", ("gen_ai_token_type", "input"), ("gen_ai_provider_name", "mtok"), ("gen_ai_response_model", "mtok/mock-model"), ("gateway_key", "mt-team")));
        Assert.Equal(0, Value(metrics, "gateway_provider_circuit_open", ("gen_ai_provider_name", "mtok")));
        Assert.Equal(1, Value(metrics, "gateway_provider_circuit_open", ("gen_ai_provider_name", "mtlimited")));
        Assert.DoesNotContain(TestGateway.ProviderKey, metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("metrics-team-key-123", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_InFlightGauges_CountAStreamThatIsStillOpen()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { HangAfter = 1 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("inflight", mock.BaseUrl)));

        using var response = await gateway.ChatAsync("""{"model":"inflight/m","stream":true}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());
        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);

        // The counts are process-wide (other tests' requests may be in flight too): this open stream makes them at least 1.
        var metrics = await gateway.Client.GetStringAsync("/metrics");
        Assert.True(Gauge(metrics, "gateway_streams_active") >= 1, metrics);
        Assert.True(Gauge(metrics, "gateway_requests_active") >= 1, metrics);
    }

    private static double Gauge(string metrics, string name)
    {
        var line = Assert.Single(metrics.Split('\n'), l => l.StartsWith(name + "{", StringComparison.Ordinal));
        return double.Parse(SeriesValue().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The value of the one series of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    private static double Value(string metrics, string name, params (string Label, string Value)[] labels)
    {
        var matches = metrics.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal))
            .Where(line => labels.All(l => line.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            .ToList();
        Assert.True(matches.Count == 1, $"{name} {string.Join(",", labels)}: {matches.Count} series\n{string.Join("\n", metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)))}");
        return double.Parse(SeriesValue().Match(matches[0]).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\} ([0-9.eE+-]+)")]
    private static partial Regex SeriesValue();

    [Fact]
    public async Task Traces_ContinueTheClientsTrace_WithOneSpanPerAttempt_AndPropagateToTheProvider()
    {
        await using var bad = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var ok = await MockProviderServer.StartAsync();
        var exported = new ExportedSpanCollection();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            telemetry: { traces: true, sample_ratio: 0 }
            strategies:
              tr-smart: { targets: [trbad/x, trok/y] }
            """, ("trbad", bad.BaseUrl, "retries: 0"), ("trok", ok.BaseUrl, "")), configureTracing: tracing => tracing.AddInMemoryExporter(exported));
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"tr-smart"}""",
            r => r.Headers.Add("traceparent", $"00-{traceId}-{clientSpan}-01"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await exported.WaitForAsync(traceId, 3, Signal);

        var request = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        Assert.Equal(clientSpan, request.ParentSpanId);
        Assert.Equal("POST /v1/chat/completions", request.DisplayName);
        Assert.Equal("tr-smart", request.GetTagItem("gen_ai.request.model"));
        Assert.Equal("trok/y", request.GetTagItem("gen_ai.response.model"));
        var attempts = spans.Where(s => s.Kind == ActivityKind.Client).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(["chat x", "chat y"], attempts.Select(a => a.DisplayName));
        Assert.All(attempts, a => Assert.Equal(request.SpanId, a.ParentSpanId));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal("trbad", attempts[0].GetTagItem("gen_ai.provider.name"));
        // Each provider saw its own attempt as the parent: the trace continues upstream.
        Assert.Equal($"00-{traceId}-{attempts[0].SpanId}-01", bad.LastRequest.Headers["traceparent"]);
        Assert.Equal($"00-{traceId}-{attempts[1].SpanId}-01", ok.LastRequest.Headers["traceparent"]);
    }

    [Fact]
    public async Task Traces_SampledPerRequest_AttemptSpansOnlyUnderSampledRequests_UnsampledClientTracePassesThrough()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var exported = new ExportedSpanCollection();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("telemetry: { traces: true, sample_ratio: 0.5 }", ("half", mock.BaseUrl)),
            configureTracing: tracing => tracing.AddInMemoryExporter(exported));

        for (int i = 0; i < 40; i++)
        {
            using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"half/m"}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // A last request in a trace the client samples: once its spans are out, so are those of the 40 before it.
        var barrier = ActivityTraceId.CreateRandom();
        using (await gateway.PostAsync("/v1/chat/completions", """{"model":"half/m"}""",
            r => r.Headers.Add("traceparent", $"00-{barrier}-{ActivitySpanId.CreateRandom()}-01")))
        {
        }
        await exported.WaitForAsync(barrier, 2, Signal);

        // The SDK listens to the process-wide source: other tests' gateways export here too; keep this one's.
        var spans = exported.Snapshot().Where(a => a.TraceId != barrier && (string?)a.GetTagItem("gen_ai.provider.name") == "half").ToList();
        var requests = spans.Where(s => s.Kind == ActivityKind.Server).Select(s => s.SpanId).ToHashSet();
        var attempts = spans.Where(s => s.Kind == ActivityKind.Client).ToList();
        // About half the requests are sampled (40 at 0.5: none or all would be a broken sampler).
        Assert.InRange(requests.Count, 5, 35);
        Assert.Equal(requests.Count, attempts.Count);
        Assert.All(attempts, a => Assert.Contains(a.ParentSpanId, requests));

        // A client trace that is not sampled: nothing recorded, and its traceparent reaches the provider unchanged.
        var unsampled = ActivityTraceId.CreateRandom();
        var traceparent = $"00-{unsampled}-{ActivitySpanId.CreateRandom()}-00";
        using (await gateway.PostAsync("/v1/chat/completions", """{"model":"half/m"}""", r => r.Headers.Add("traceparent", traceparent)))
        {
        }
        Assert.Equal(traceparent, mock.LastRequest.Headers["traceparent"]);
        Assert.DoesNotContain(exported.Snapshot(), a => a.TraceId == unsampled);
    }

    [Fact]
    public async Task WithTracesOff_TheClientsTraceparentPassesThroughUnchanged()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        const string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", r => r.Headers.Add("traceparent", traceparent));

        Assert.Equal(traceparent, mock.LastRequest.Headers["traceparent"]);
    }
}
