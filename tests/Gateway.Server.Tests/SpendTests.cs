using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using Gateway.Server.Tests.Translation;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Server.Tests;

/// <summary>What answers cost (pricing), per key and model, and budgets that stop a key at its limit — over real sockets.</summary>
public sealed class SpendTests : IDisposable
{
    private const string AdminKey = "spend-admin-key-0123456789";
    private const string TeamKey = "spend-team-key-12345";

    private const string Pricing = """
        pricing:
          models:
            "openai/gpt-4o*": { input: 2.50, cached_input: 1.25, output: 10.00 }
            "openai/o3*": { input: 2.00, output: 8.00 }
            "claude/claude-sonnet-4-5*": { input: 3.00, cache_read: 0.30, cache_write: 3.75, output: 15.00 }

        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-spend-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CompletionLog => Path.Combine(_dir, "completions.jsonl");

    private static Transcript Answer(string usage) => Transcript.Parse([
        """{"status":200,"headers":{"content-type":"application/json"}}""",
        JsonSerializer.Serialize(new { raw = $$"""{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{{usage}}}""" })]);

    private static Transcript Stream(string usage) => Transcript.Parse([
        """{"status":200,"headers":{"content-type":"text/event-stream"}}""",
        JsonSerializer.Serialize(new { raw = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n" }),
        JsonSerializer.Serialize(new { raw = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" }),
        JsonSerializer.Serialize(new { raw = $"data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{usage}}}\n\ndata: [DONE]\n\n" })]);

    private const string Plain = """{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}""";
    private const string Cached = """{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":400}}""";
    private const string Reasoning = """{"prompt_tokens":10,"completion_tokens":2000,"total_tokens":2010,"completion_tokens_details":{"reasoning_tokens":1800}}""";

    // Hand-computed: (prompt − cached) × input + cached × cached_input + completion × output, per million.
    public static TheoryData<string, string, string> Shapes() => new()
    {
        { "openai/gpt-4o", Plain, "0.0075" },              // 1000 × 2.50 + 500 × 10
        { "openai/gpt-4o-mini", Cached, "0.007" },         // 600 × 2.50 + 400 × 1.25 + 500 × 10
        { "openai/o3-mini", Reasoning, "0.01602" },        // 10 × 2 + 2000 × 8 (reasoning is part of completion)
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_whole_answer_costs_the_hand_computed_value_in_its_header_and_record(string model, string usage, string cost)
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(usage));
        await using var gateway = await StartAsync(mock);

        using var response = await gateway.PostAsync("/v1/chat/completions", $$"""{"model":"{{model}}","messages":[]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(cost, response.Headers.GetValues("x-gateway-cost-usd").Single());
        Assert.Contains("\"usage\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(cost, (await RecordsAsync(gateway, 1))[0].GetProperty("cost_usd").GetRawText());
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_stream_costs_the_same_in_its_record_and_the_client_does_not_see_a_usage_chunk_it_did_not_ask_for(string model, string usage, string cost)
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Stream(usage));
        await using var gateway = await StartAsync(mock);

        using var response = await gateway.PostAsync("/v1/chat/completions", $$"""{"model":"{{model}}","stream":true,"messages":[]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.False(response.Headers.Contains("x-gateway-cost-usd"));
        Assert.DoesNotContain("\"usage\"", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        using var sent = JsonDocument.Parse(Assert.Single(mock.Requests).Body);
        Assert.True(sent.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(cost, (await RecordsAsync(gateway, 1))[0].GetProperty("cost_usd").GetRawText());
    }

    [Theory]
    [InlineData("A17-message-tools-thinking", false, "0.00087")] // 5 × 3 + 100 × 0.30 + 20 × 3.75 + 50 × 15
    [InlineData("A08-cache-usage", true, "0.00111")]            // 5 × 3 + 1000 × 0.30 + 200 × 3.75 + 3 × 15
    public async Task Anthropic_billed_usage_keeps_its_cache_reads_and_writes(string transcript, bool stream, string cost)
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", transcript));
        await using var gateway = await StartAsync(mock, claude: true);

        using var response = await gateway.PostAsync("/v1/chat/completions",
            $$"""{"model":"claude/claude-sonnet-4-5","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"Hi"}]}""");
        await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (!stream)
        {
            Assert.Equal(cost, response.Headers.GetValues("x-gateway-cost-usd").Single());
        }
        var record = (await RecordsAsync(gateway, 1))[0];
        Assert.Equal(cost, record.GetProperty("cost_usd").GetRawText());
        Assert.True(record.GetProperty("usage").GetProperty("cache_read_input_tokens").GetInt64() > 0);
    }

    [Fact]
    public async Task A_model_without_a_price_has_an_unknown_cost_never_zero()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(Plain));
        await using var gateway = await StartAsync(mock);

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"openai/unpriced-model","messages":[]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("x-gateway-cost-usd"));
        var record = (await RecordsAsync(gateway, 1))[0];
        Assert.Equal(JsonValueKind.Null, record.GetProperty("cost_usd").ValueKind);
        var spend = await SpendAsync(gateway);
        var model = spend.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "openai/unpriced-model");
        Assert.Equal(JsonValueKind.Null, model.GetProperty("cost_usd").ValueKind);
        Assert.Equal(1, model.GetProperty("unpriced_requests").GetInt64());
    }

    [Fact]
    public async Task A_key_at_its_budget_is_refused_before_any_upstream_call_until_the_period_resets()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 23, 58, 0, TimeSpan.Zero));
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(Plain));
        await using var gateway = await StartAsync(mock, budget: "{ usd: 0.01, period: 1d }", time: time);

        // 0.0075 each: under the budget after the first, over it after the second.
        for (int i = 0; i < 2; i++)
        {
            using var ok = await gateway.PostAsync("/v1/chat/completions", """{"model":"openai/gpt-4o","messages":[]}""", Team);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var refused = await gateway.PostAsync("/v1/chat/completions", """{"model":"openai/gpt-4o","messages":[]}""", Team))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
            using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            var body = error.RootElement.GetProperty("error");
            Assert.Equal("insufficient_quota", body.GetProperty("type").GetString());
            Assert.Equal("insufficient_quota", body.GetProperty("code").GetString());
            Assert.Contains("2026-12-08T00:00:00Z", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(2, mock.Requests.Count);

        var spend = (await SpendAsync(gateway)).GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "team");
        Assert.Equal("0.015", spend.GetProperty("spend_usd").GetRawText());
        Assert.Equal("0.01", spend.GetProperty("budget_usd").GetRawText());
        Assert.Equal("1d", spend.GetProperty("period").GetString());
        Assert.Equal("2026-12-08T00:00:00+00:00", spend.GetProperty("resets_at").GetString());

        time.Advance(TimeSpan.FromMinutes(3));
        using var nextDay = await gateway.PostAsync("/v1/chat/completions", """{"model":"openai/gpt-4o","messages":[]}""", Team);
        Assert.Equal(HttpStatusCode.OK, nextDay.StatusCode);
        Assert.Equal(3, mock.Requests.Count);
    }

    [Fact]
    public async Task Concurrent_answers_charge_one_key_exactly()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(Plain));
        await using var gateway = await StartAsync(mock, budget: "{ usd: 100, period: month }");

        await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"openai/gpt-4o","messages":[]}""", Team);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }));

        var spend = await SpendAsync(gateway);
        Assert.Equal("0.3", spend.GetProperty("keys")[0].GetProperty("spend_usd").GetRawText());
        var model = spend.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "openai/gpt-4o");
        Assert.Equal(40, model.GetProperty("requests").GetInt64());
        Assert.Equal("0.3", model.GetProperty("cost_usd").GetRawText());
    }

    [Fact]
    public async Task Spend_survives_a_reload_by_key_name()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(Plain));
        var path = Path.Combine(_dir, "config.yaml");
        var yaml = Yaml(mock, budget: "{ usd: 1, period: 1d }");
        await using var gateway = await TestGateway.StartFromFileAsync(path, yaml, Environment());
        using (var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"openai/gpt-4o","messages":[]}""", Team))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var reloaded = gateway.NextSnapshotAsync();
        await File.WriteAllTextAsync(path, yaml.Replace("usd: 1,", "usd: 2,", StringComparison.Ordinal));
        await reloaded;

        var key = (await SpendAsync(gateway)).GetProperty("keys")[0];
        Assert.Equal("0.0075", key.GetProperty("spend_usd").GetRawText());
        Assert.Equal("2", key.GetProperty("budget_usd").GetRawText());
    }

    [Fact]
    public async Task Admin_spend_needs_the_admin_key_and_metrics_show_cost_and_remaining_budget()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(Plain));
        await using var gateway = await StartAsync(mock, budget: "{ usd: 5, period: 7d }", keyName: "spend-metrics-team");

        using (var anonymous = await gateway.Client.GetAsync("/admin/spend"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        using (var wrong = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/admin/spend") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", TeamKey) } }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        (await gateway.PostAsync("/v1/chat/completions", """{"model":"openai/gpt-4o","messages":[]}""", Team)).Dispose();

        var spend = await SpendAsync(gateway);
        Assert.Equal(["keys", "models"], spend.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["name", "spend_usd", "budget_usd", "period", "resets_at"], spend.GetProperty("keys")[0].EnumerateObject().Select(p => p.Name));
        var metrics = await gateway.Client.GetStringAsync("/metrics");
        Assert.Contains("gateway_cost_usd_total{otel_scope_name=\"Gateway\",otel_scope_version=\"1.0\",key=\"spend-metrics-team\",model=\"openai/gpt-4o\",provider=\"openai\"} 0.0075", metrics, StringComparison.Ordinal);
        Assert.Contains("gateway_key_budget_remaining_usd{otel_scope_name=\"Gateway\",otel_scope_version=\"1.0\",key=\"spend-metrics-team\"} 4.9925", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(TeamKey, metrics, StringComparison.Ordinal);
    }

    private static void Team(HttpRequestMessage request) => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TeamKey);

    private static Func<string, string?> Environment() => TestGateway.Environment(("TEAM_KEY", TeamKey), ("ADMIN_KEY", AdminKey));

    private string Yaml(MockProviderServer mock, string? budget = null, string keyName = "team", bool claude = false)
    {
        var providers = claude
            ? new[] { ("openai", mock.BaseUrl, "discover_models: false"), ("claude", mock.BaseUrl, "type: anthropic, discover_models: false") }
            : [("openai", mock.BaseUrl, "discover_models: false")];
        var auth = budget is null ? "" : $"auth: {{ keys: [ {{ name: {keyName}, key: \"${{TEAM_KEY}}\", budget: {budget} }} ] }}\n";
        return TestGateway.Config(
            Pricing + auth + "admin: { key: \"${ADMIN_KEY}\" }\n" + $"completion_log: {{ sink: file, path: \"{CompletionLog}\" }}\n", providers);
    }

    private Task<TestGateway> StartAsync(MockProviderServer mock, string? budget = null, TimeProvider? time = null, string keyName = "team", bool claude = false) =>
        TestGateway.StartAsync(Yaml(mock, budget, keyName, claude), environment: Environment(), time: time);

    /// <summary>The completion log's records once <paramref name="count"/> are written (signalled by the writer, not polled on a timer).</summary>
    private async Task<List<JsonElement>> RecordsAsync(TestGateway gateway, int count)
    {
        var writer = gateway.Host.Components.CompletionLog!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var batch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void Done() => batch.TrySetResult();
            writer.BatchDone += Done;
            try
            {
                var lines = File.Exists(CompletionLog) ? await File.ReadAllLinesAsync(CompletionLog) : [];
                if (lines.Length >= count)
                {
                    return lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
                }
                Assert.True(DateTime.UtcNow < deadline, $"{lines.Length} of {count} completion records");
                await batch.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            finally
            {
                writer.BatchDone -= Done;
            }
        }
    }

    private static async Task<JsonElement> SpendAsync(TestGateway gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/spend") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", AdminKey) } };
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
