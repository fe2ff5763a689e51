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

        // S9: silence. A request waits the budget at most, the breaker opens after a few, then none waits at all.
        proxy.Delay = TimeSpan.Zero;
        proxy.Blackhole = true;
        var slowest = TimeSpan.Zero;
        for (int i = 0; i < 60; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await replicas.Next().Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // Never held by Redis: the budget (20 ms) and a loaded machine's slack, not a Redis timeout's second.
            Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(300), $"request {i} took {watch.Elapsed.TotalMilliseconds:0.0} ms");
            if (i >= 30)
            {
                slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
            }
        }
        Assert.Equal(0, await replicas.SharedCountAsync());
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
