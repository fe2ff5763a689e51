using System.Net;
using System.Text.Json;
using Gateway.MockProvider;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>
/// Three gateway processes and a real redis-server: per-key limits, leases and budgets hold across replicas, and
/// Redis going away never fails a request (reference: scaleout.md §3).
/// </summary>
[Collection(nameof(ScaleOutCollection))]
public sealed class SharedLimitsTests
{
    private const string Chat = """{"model":"mock/m","messages":[{"role":"user","content":"secret prompt text 7c1"}]}""";

    // On a 2-core machine running three gateways, Redis and the test, a 5 ms budget is sometimes missed (the request is
    // then decided by the replica's local share, by design); the exact-limit scenarios give Redis room.
    private const string Roomy = ", timeout: 250ms";

    private static string Key(string limits) => $$"""auth: { keys: [ { name: team, key: "${CLIENT_KEY}", {{limits}} } ] }""";

    [Fact]
    public async Task S1_rpm_holds_across_three_replicas_and_S2_refused_keys_cost_no_redis_call()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl, Key("rpm: 60"), Roomy + ", borrow_max: 0");

        // A burst of 150 at once: the key's whole minute (60, its burst) is admitted across all three, no more
        // (give or take the one-per-second refill while the burst is under way). Without borrowing, every admission is
        // decided in Redis: exact (BorrowedAdmissionTests hold the bounds with it).
        var statuses = await Task.WhenAll(Enumerable.Range(0, 150).Select(async _ =>
        {
            using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            }
            else
            {
                // The key's own limits, as Redis counted them across the replicas.
                Assert.Equal("60", response.Headers.GetValues("x-ratelimit-limit-requests").Single());
                Assert.InRange(int.Parse(response.Headers.GetValues("x-ratelimit-remaining-requests").Single(), System.Globalization.CultureInfo.InvariantCulture), 0, 59);
            }
            return response.StatusCode;
        }));
        int admitted = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.InRange(admitted, 60, 63);
        Assert.Equal(150 - admitted, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(admitted, mock.Requests.Count);

        // Over its limit, the key is refused from each replica's negative cache: not one script call per request.
        long before = await redis.ScriptCallsAsync();
        for (int i = 0; i < 60; i++)
        {
            using var refused = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
        }
        Assert.True(await redis.ScriptCallsAsync() - before <= 12, $"{await redis.ScriptCallsAsync() - before} script calls for 60 refused requests");
    }

    [Fact]
    public async Task S3_tpm_is_charged_after_the_response_and_seen_by_every_replica()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(1000));
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl, Key("tpm: 3000"), Roomy);

        // 3,000 a minute, a minute's burst: every answer of 1,000 tokens puts the key 20 s in debt. Four fit (the
        // fourth starts at exactly a minute of debt), the fifth finds the key over — on whichever replica it lands.
        double tat = 0;
        for (int i = 0; i < 4; i++)
        {
            using var ok = await replicas.Gateways[i % 3].Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            // Each charge moves the key's TAT 20 s later (in debt, from where it was): waited for, not slept for.
            double before = tat;
            await Replicas.WaitForAsync(async () => (tat = await redis.TatAsync("tpm")) >= before + 19.9e6, "the charge to be flushed");
        }
        using var refused = await replicas.Gateways[1].Client.SendAsync(Replicas.Chat(Chat));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 15, 21);
        Assert.Contains("tokens per minute", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task S5_max_concurrent_across_replicas_and_S6_a_killed_replica_frees_its_slot_within_the_lease_ttl()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl, Key("max_concurrent: 2"), Roomy + ", lease_ttl: 3s");
        const string Slow = """{"model":"mock/m","stream":true,"mock":{"chunks":6,"chunk_delay_ms":250}}""";

        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(async i =>
        {
            using var response = await replicas.Gateways[i % 3].Client.SendAsync(Replicas.Chat(Slow), HttpCompletionOption.ResponseHeadersRead);
            await response.Content.ReadAsStringAsync();
            return response.StatusCode;
        }));
        Assert.Equal(2, results.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(3, results.Count(s => s == HttpStatusCode.TooManyRequests));

        // The slots come back when the streams end (released with the next flush).
        await Replicas.WaitForAsync(async () => await redis.LeasesAsync() == 0, "the leases to be released");
        using (var again = await replicas.Gateways[2].Client.SendAsync(Replicas.Chat(Chat)))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        await Replicas.WaitForAsync(async () => await redis.LeasesAsync() == 0, "the lease to be released");

        // A replica dies holding both slots: the others refuse until the leases expire (3 s), then admit again.
        const string Endless = """{"model":"mock/m","stream":true,"mock":{"chunks":200,"chunk_delay_ms":200}}""";
        var held = new List<HttpResponseMessage>();
        for (int i = 0; i < 2; i++)
        {
            held.Add(await replicas.Gateways[0].Client.SendAsync(Replicas.Chat(Endless), HttpCompletionOption.ResponseHeadersRead));
            Assert.Equal(HttpStatusCode.OK, held[^1].StatusCode);
        }
        await replicas.Gateways[0].KillAsync();
        var killed = DateTime.UtcNow;
        held.ForEach(h => h.Dispose());
        using (var refused = await replicas.Gateways[1].Client.SendAsync(Replicas.Chat(Chat)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        }
        await Replicas.WaitForAsync(async () =>
        {
            using var response = await replicas.Gateways[1].Client.SendAsync(Replicas.Chat(Chat));
            return response.StatusCode == HttpStatusCode.OK;
        }, "a slot after the lease TTL", TimeSpan.FromSeconds(6));
        Assert.InRange((DateTime.UtcNow - killed).TotalSeconds, 0.5, 4.5);
    }

    [Fact]
    public async Task S7_a_budget_is_spent_once_across_replicas()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Answer(1000));
        var pricing = "\npricing: { models: { \"mock/*\": { input: 2.50, output: 10.00 } } }";
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl, Key("budget: { usd: 0.01, period: 1d }") + pricing, Roomy);

        // 0.003625 per answer (850 prompt × 2.50 + 150 × 10 per million): the third puts the key over, the fourth is refused anywhere.
        for (int i = 0; i < 3; i++)
        {
            using var ok = await replicas.Gateways[i].Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("0.003625", ok.Headers.GetValues("x-gateway-cost-usd").Single());
            await Replicas.WaitForAsync(async () => await SpentAsync(replicas.Gateways[(i + 1) % 3]) == (i + 1) * 0.003625m, "the spend to be shared");
        }
        using var refused = await replicas.Gateways[0].Client.SendAsync(Replicas.Chat(Chat));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("insufficient_quota", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(3, mock.Requests.Count);
    }

    [Fact]
    public async Task S8_redis_killed_mid_load_fails_no_request_and_shared_mode_comes_back()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(3, redis.Url, mock.BaseUrl, Key("rpm: 100000, max_concurrent: 1000"));

        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        int sent = 0;
        var load = Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
                Interlocked.Increment(ref sent);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    var failure = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                    lock (failures)
                    {
                        failures.Add(failure);
                    }
                }
            }
        }));
        await Replicas.WaitForAsync(() => Task.FromResult(Volatile.Read(ref sent) > 50), "load to start");
        await redis.KillAsync();
        await Replicas.WaitForAsync(async () => await BackendUpAsync(replicas) == 0, "every replica to notice", TimeSpan.FromSeconds(5));
        int duringOutage = Volatile.Read(ref sent);
        await Replicas.WaitForAsync(() => Task.FromResult(Volatile.Read(ref sent) > duringOutage + 50), "load during the outage");
        await redis.RestartAsync();
        var restarted = DateTime.UtcNow;
        await Replicas.WaitForAsync(async () => await BackendUpAsync(replicas) == 3, "shared mode again", TimeSpan.FromSeconds(5));
        Assert.True((DateTime.UtcNow - restarted).TotalSeconds <= 3.5, $"shared again after {(DateTime.UtcNow - restarted).TotalSeconds:0.0} s");
        await stop.CancelAsync();
        await load;

        Assert.Empty(failures);
        foreach (var gateway in replicas.Gateways)
        {
            Assert.True(await Replicas.MetricAsync(gateway, "gateway_state_fallback_total") > 0);
            // The heartbeats of a restarted (empty) Redis count all three again within a beat or two.
            await Replicas.WaitForAsync(async () => await Replicas.MetricAsync(gateway, "gateway_state_replicas") == 3, "three replicas counted", TimeSpan.FromSeconds(5));
            Assert.Equal(1, Count(gateway.Output, "Redis is not answering"));
            Assert.Equal(1, Count(gateway.Output, "Redis answers; limits"));
        }
    }

    [Fact]
    public async Task S16_replicas_start_without_redis_and_share_once_it_answers_and_S18_redis_holds_no_secret()
    {
        var port = RedisProcess.FreePort();
        await using var mock = await MockProviderServer.StartAsync();
        var pricing = "\npricing: { models: { \"mock/*\": { input: 2.50, output: 10.00 } } }";
        await using var replicas = await Replicas.StartAsync(3, $"redis://127.0.0.1:{port}", mock.BaseUrl,
            Key("rpm: 1000, tpm: 1000000, max_concurrent: 10, budget: { usd: 100, period: month }") + pricing, shared: false);

        // Ready at once, degraded: requests are served on each replica's share.
        foreach (var gateway in replicas.Gateways)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(0, await BackendUpAsync(replicas));

        await using var redis = await RedisProcess.StartAsync(port);
        await Replicas.WaitForAsync(async () => await BackendUpAsync(replicas) == 3, "shared mode", TimeSpan.FromSeconds(5));
        foreach (var gateway in replicas.Gateways)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await Replicas.WaitForAsync(async () => (await redis.CliAsync("KEYS", "*")).Contains("spend", StringComparison.Ordinal), "spend to be flushed");

        // Every key and every value: no gateway key, provider key, key name or prompt text.
        var keys = (await redis.CliAsync("KEYS", "*")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(keys);
        var everything = new System.Text.StringBuilder(string.Join('\n', keys));
        foreach (var key in keys)
        {
            var type = (await redis.CliAsync("TYPE", key)).Trim();
            everything.Append(type switch
            {
                "zset" => await redis.CliAsync("ZRANGE", key, "0", "-1", "WITHSCORES"),
                "string" => await redis.CliAsync("GET", key),
                _ => await redis.CliAsync("DUMP", key),
            });
        }
        var dump = everything.ToString();
        foreach (var secret in new[] { Replicas.ClientKey, Replicas.ProviderKey, Replicas.AdminKey, "team", "secret prompt text" })
        {
            Assert.DoesNotContain(secret, dump, StringComparison.Ordinal);
        }
    }

    private static Transcript Answer(int promptTokens) => Transcript.Parse([
        """{"status":200,"headers":{"content-type":"application/json"}}""",
        JsonSerializer.Serialize(new
        {
            raw = """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":@P,"completion_tokens":150,"total_tokens":@T}}"""
                .Replace("@P", (promptTokens - 150).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@T", promptTokens.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal),
        })]);

    private static async Task<decimal> SpentAsync(GatewayProcess gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/spend")
        {
            Headers = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Replicas.AdminKey) },
        };
        using var response = await gateway.Client.SendAsync(request);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("keys")[0].GetProperty("spend_usd").GetDecimal();
    }

    private static Task<int> BackendUpAsync(Replicas replicas) => replicas.SharedCountAsync();

    private static int Count(string text, string part) => text.Split(part).Length - 1;

}

[CollectionDefinition(nameof(ScaleOutCollection), DisableParallelization = true)]
public sealed class ScaleOutCollection;
