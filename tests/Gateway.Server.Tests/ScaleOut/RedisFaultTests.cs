using System.Diagnostics;
using System.Net;
using Gateway.MockProvider;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>Redis silent, slow, or losing its scripts or its data: requests are never failed and never held past the budget (S9, S10, S15, S17).</summary>
[Collection(nameof(ScaleOutCollection))]
public sealed class RedisFaultTests
{
    private const string Chat = """{"model":"mock/m","messages":[{"role":"user","content":"Hi"}]}""";
    private const string Limited = """auth: { keys: [ { name: team, key: "${CLIENT_KEY}", rpm: 100000, max_concurrent: 1000 } ] }""";

    [Fact]
    public async Task S9_a_silent_redis_holds_no_request_past_its_budget_and_S10_latency_under_the_budget_stays_shared()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var proxy = new DelayProxy(redis.Port);
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(3, proxy.Url, mock.BaseUrl, Limited, ", timeout: 20ms");

        // S10: 5 ms each way is slower than any production network, and under the 20 ms budget: still shared.
        proxy.Delay = TimeSpan.FromMilliseconds(5);
        for (int i = 0; i < 30; i++)
        {
            using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(3, await replicas.SharedCountAsync());

        // S9: silence. A request waits the budget at most, each replica's breaker opens after a few (requests spending
        // admissions borrowed before the silence do not ask Redis, so how many depends on them), then none waits at all.
        proxy.Delay = TimeSpan.Zero;
        proxy.Blackhole = true;
        int sent = 0;
        var silence = Stopwatch.StartNew();
        while (await replicas.SharedCountAsync() > 0)
        {
            // Bounded in time: the metrics a replica serves lag its state by the exporter's cache (300 ms).
            Assert.True(silence.Elapsed < TimeSpan.FromSeconds(5), "the health breakers did not open");
            sent++;
            var watch = Stopwatch.StartNew();
            using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // Never held by Redis: the budget (20 ms) and a loaded machine's slack, not a Redis timeout's second.
            Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(300), $"request {sent} took {watch.Elapsed.TotalMilliseconds:0.0} ms");
        }
        var slowest = TimeSpan.Zero;
        for (int i = 0; i < 30; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
        }
        // Once open, no request probes Redis (the heartbeat does, in the background): none pays the budget.
        Assert.True(slowest < TimeSpan.FromMilliseconds(20), $"a request after the breaker opened took {slowest.TotalMilliseconds:0.0} ms");

        proxy.Blackhole = false;
        var back = Stopwatch.StartNew();
        while (await replicas.SharedCountAsync() < 3)
        {
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(3), "shared mode did not come back within 3 s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task S15_lost_scripts_and_S17_a_flushed_redis_fail_no_request()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl, Limited, ", timeout: 250ms");

        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 15; i++)
            {
                using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            await redis.CliAsync(round == 0 ? "SCRIPT" : "FLUSHALL", round == 0 ? "FLUSH" : "SYNC");
        }
        Assert.Equal(3, await replicas.SharedCountAsync());
        Assert.Equal(45, mock.Requests.Count);
    }
}

/// <summary>The rest of the plan: the tpm overshoot bound (S4), a paused Redis (S11), a failure of local origin (S13).</summary>
[Collection(nameof(ScaleOutCollection))]
public sealed class SharedBoundsTests
{
    private const string Chat = """{"model":"mock/m","messages":[{"role":"user","content":"Hi"}]}""";

    [Fact]
    public async Task S4_tpm_overshoot_is_bounded_by_the_requests_in_flight()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Transcript.Parse([
            """{"status":200,"headers":{"content-type":"application/json"}}""",
            """{"raw":"{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":100,\"total_tokens\":1000}}"}"""]));
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl,
            """auth: { keys: [ { name: team, key: "${CLIENT_KEY}", tpm: 5000 } ] }""", ", timeout: 250ms");

        // Ten at once: none finds the key in debt when admitted, so all ten run — the overshoot is what was in flight.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            using var response = await replicas.Gateways[i % 3].Client.SendAsync(Replicas.Chat(Chat));
            return response.StatusCode;
        }));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));

        // As their 10,000 tokens (two minutes of a 5,000 tpm key) are charged, the key goes over and is refused everywhere.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        HttpStatusCode status;
        double retryAfter = 0;
        do
        {
            await Task.Delay(50);
            using var next = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            status = next.StatusCode;
            if (status == HttpStatusCode.TooManyRequests)
            {
                retryAfter = next.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
            }
        }
        while (status == HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        // Until the debt is repaid: 12 s per answer charged, less the minute of burst.
        Assert.InRange(retryAfter, 1, (12 * mock.Requests.Count) - 60 + 1);
        // The ten in flight, at most the one or two that came before their charges were flushed, and the admissions a
        // replica borrowed while the key was less than half used (spent without asking Redis, for at most a second).
        double borrowed = 0;
        foreach (var gateway in replicas.Gateways)
        {
            borrowed += await Replicas.MetricAsync(gateway, "gateway_state_borrowed_total");
        }
        Assert.InRange(mock.Requests.Count, 10, 12 + borrowed);
    }

    [Fact]
    public async Task S11_a_paused_redis_holds_no_request_and_sharing_resumes_after()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl,
            """auth: { keys: [ { name: team, key: "${CLIENT_KEY}", rpm: 100000 } ] }""", ", timeout: 20ms");

        await redis.CliAsync("CLIENT", "PAUSE", "3000", "ALL");
        var paused = Stopwatch.StartNew();
        int sent = 0;
        while (paused.Elapsed < TimeSpan.FromSeconds(2))
        {
            var watch = Stopwatch.StartNew();
            using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(300), $"request {sent} took {watch.Elapsed.TotalMilliseconds:0.0} ms while Redis was paused, {paused.Elapsed.TotalMilliseconds:0} ms into the pause");
            sent++;
        }
        Assert.True(sent > 20);
        Assert.Equal(0, await replicas.SharedCountAsync());
        while (await replicas.SharedCountAsync() < 3)
        {
            Assert.True(paused.Elapsed < TimeSpan.FromSeconds(6), "sharing did not resume within 3 s of the pause's end");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task S13_a_replica_that_cannot_connect_opens_only_its_own_circuit()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var p1 = await MockProviderServer.StartAsync();
        await using var p2 = await MockProviderServer.StartAsync();
        const string Strategy = "strategies:\n  smart: { targets: [p1/m, p2/m] }";
        string Providers(Uri p1Url) => $$"""
              p1: { type: openai, base_url: {{p1Url}}, api_key: "${PROVIDER_KEY}", discover_models: false, retries: 0, circuit: { failure_threshold: 1 } }
              p2: { type: openai, base_url: {{p2.BaseUrl}}, api_key: "${PROVIDER_KEY}", discover_models: false, retries: 0 }
            """.TrimEnd();
        await using var healthy = await Replicas.StartAsync(2, redis.Url, p1.BaseUrl, Strategy, providers: Providers(p1.BaseUrl));
        // The third replica's p1 is a closed port: its own network problem, not p1's.
        await using var cut = await Replicas.StartAsync(1, redis.Url, p1.BaseUrl, Strategy, providers: Providers(new Uri($"http://127.0.0.1:{RedisProcess.FreePort()}/v1")));
        const string Smart = """{"model":"smart","messages":[{"role":"user","content":"Hi"}]}""";

        for (int i = 0; i < 3; i++)
        {
            using var response = await cut.Gateways[0].Client.SendAsync(Replicas.Chat(Smart));
            Assert.Equal("p2", response.Headers.GetValues("X-Gateway-Provider").Single());
        }
        foreach (var gateway in healthy.Gateways)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Smart));
            Assert.Equal("p1", response.Headers.GetValues("X-Gateway-Provider").Single());
        }
        Assert.DoesNotContain(":cb", await redis.CliAsync("KEYS", "*"), StringComparison.Ordinal);
    }
}
