using System.Text.Json;
using Gateway.MockProvider;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>A provider's circuit opened on one replica is open on all, and exactly one replica probes it (scaleout.md S12, S14).</summary>
[Collection(nameof(ScaleOutCollection))]
public sealed class SharedCircuitTests
{
    private const string Chat = """{"model":"smart","messages":[{"role":"user","content":"Hi"}]}""";

    [Fact]
    public async Task S12_a_429_with_retry_after_on_one_replica_keeps_every_replica_away_and_one_probe_closes_it_and_S14_deadlines_only_extend()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var p1 = await MockProviderServer.StartAsync();
        await using var p2 = await MockProviderServer.StartAsync();
        p1.Transcripts.Enqueue(Transcript.Parse([
            """{"status":429,"headers":{"content-type":"application/json","retry-after":"3"}}""",
            """{"raw":"{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}"}"""]));
        // Every later answer takes 500 ms: a probe is in flight long enough for a burst to prove it is the only one.
        p1.Transcripts.Enqueue(Transcript.Parse([
            """{"status":200,"headers":{"content-type":"application/json"}}""",
            JsonSerializer.Serialize(new { delay_ms = 500, raw = """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"p1"},"finish_reason":"stop"}]}""" })]));
        var providers = $$"""
              p1: { type: openai, base_url: {{p1.BaseUrl}}, api_key: "${PROVIDER_KEY}", discover_models: false, retries: 0 }
              p2: { type: openai, base_url: {{p2.BaseUrl}}, api_key: "${PROVIDER_KEY}", discover_models: false, retries: 0 }
            """.TrimEnd();
        await using var replicas = await Replicas.StartAsync(3, redis.Url, p1.BaseUrl, "strategies:\n  smart: { targets: [p1/m, p2/m] }", providers: providers);

        using (var first = await replicas.Gateways[0].Client.SendAsync(Replicas.Chat(Chat)))
        {
            Assert.Equal("p2", first.Headers.GetValues("X-Gateway-Provider").Single());
        }
        Assert.Single(p1.Requests);
        await Replicas.WaitForAsync(async () => await OpenOnAsync(replicas, "p1") == 3, "every replica to see the circuit open", TimeSpan.FromSeconds(2));

        // S14: a shorter opening (another replica's 1 s cooldown) does not shorten the 3 s one.
        var key = (await redis.CliAsync("KEYS", "*{p:p1}:cb")).Trim();
        var left = long.Parse((await redis.CliAsync("PTTL", key)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await redis.CliAsync("EVAL", Gateway.Core.State.RedisScripts.OpenCircuit, "1", key, "1000", "test", "gw:v1:events", "p1");
        Assert.InRange(long.Parse((await redis.CliAsync("PTTL", key)).Trim(), System.Globalization.CultureInfo.InvariantCulture), left - 500, left);

        // During the cooldown no replica sends p1 anything.
        for (int i = 0; i < 12; i++)
        {
            using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal("p2", response.Headers.GetValues("X-Gateway-Provider").Single());
        }
        Assert.Single(p1.Requests);

        // After it, one replica holds the probe; a burst over all three sends p1 exactly one request.
        await Replicas.WaitForAsync(async () => await OpenOnAsync(replicas, "p1") == 2, "one replica to take the probe", TimeSpan.FromSeconds(6));
        var burst = await Task.WhenAll(Enumerable.Range(0, 15).Select(async i =>
        {
            using var response = await replicas.Gateways[i % 3].Client.SendAsync(Replicas.Chat(Chat));
            return response.Headers.GetValues("X-Gateway-Provider").Single();
        }));
        Assert.Equal(1, burst.Count(p => p == "p1"));
        Assert.Equal(2, p1.Requests.Count);

        // The probe's success closes the circuit everywhere.
        await Replicas.WaitForAsync(async () => await OpenOnAsync(replicas, "p1") == 0, "every replica to close the circuit", TimeSpan.FromSeconds(2));
        foreach (var gateway in replicas.Gateways)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal("p1", response.Headers.GetValues("X-Gateway-Provider").Single());
        }
    }

    /// <summary>How many replicas report the provider's circuit open (gateway_provider_circuit_open 1).</summary>
    private static async Task<int> OpenOnAsync(Replicas replicas, string provider)
    {
        int open = 0;
        foreach (var gateway in replicas.Gateways)
        {
            var metrics = await gateway.Client.GetStringAsync("/metrics");
            open += metrics.Split('\n').Any(l => l.StartsWith("gateway_provider_circuit_open", StringComparison.Ordinal)
                && l.Contains($"gen_ai_provider_name=\"{provider}\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal)) ? 1 : 0;
        }
        return open;
    }

}
