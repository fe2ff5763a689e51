using System.Diagnostics;
using System.Globalization;
using System.Net;
using Gateway.MockProvider;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>
/// Borrowed admissions (state.borrow_max): a replica serving a busy key borrows a batch of its admissions in one
/// round trip and spends them without asking Redis — only while the key is less than half used, so near the limit
/// every admission is decided in Redis again; what expires unused goes back to the key.
/// </summary>
[Collection(nameof(ScaleOutCollection))]
public sealed class BorrowedAdmissionTests
{
    private const string Chat = """{"model":"mock/m","messages":[{"role":"user","content":"hi"}]}""";

    private static string Key(string limits) => $$"""auth: { keys: [ { name: team, key: "${CLIENT_KEY}", {{limits}} } ] }""";

    [Fact]
    public async Task A_busy_key_asks_redis_for_few_admissions_while_far_from_its_limit_and_for_each_one_near_it()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(1, redis.Url, mock.BaseUrl, Key("rpm: 120"), ", timeout: 250ms");
        var gateway = replicas.Gateways[0];

        long callsBefore = await redis.ScriptCallsAsync();
        var watch = Stopwatch.StartNew();
        int admitted = 0;
        var remaining = new List<(int Left, TimeSpan At)>();
        while (true)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                break;
            }
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            admitted++;
            remaining.Add((int.Parse(response.Headers.GetValues("x-ratelimit-remaining-requests").Single(), CultureInfo.InvariantCulture), watch.Elapsed));
        }
        var elapsed = watch.Elapsed;
        long calls = await redis.ScriptCallsAsync() - callsBefore;
        // The exporter caches a scrape for a moment: the count is read once it shows.
        double borrowed = 0;
        await Replicas.WaitForAsync(async () => (borrowed = await Replicas.MetricAsync(gateway, "gateway_state_borrowed_total")) > 0, "the borrowed count");

        // The limit holds: its minute (120) and the refill of two a second while this ran (borrowing adds at most a
        // second's refill to any window, and none here: the batches were spent at once).
        Assert.InRange(admitted, 120, 121 + (int)(2 * elapsed.TotalSeconds));
        Assert.Equal(admitted, mock.Requests.Count);
        // Most of the first half was borrowed, none of the second: only half the bucket is ever lent.
        Assert.InRange(borrowed, 45, 59);
        // So Redis saw a handful of calls for the first half (the borrowing ones and the refills), one per admission for
        // the second, one for the refusal (and the heartbeat, once a second).
        Assert.InRange(calls, admitted - borrowed + 1, admitted - borrowed + 10 + Math.Ceiling(elapsed.TotalSeconds));
        // What the client is told stays true: the count it has left only falls, but for the refill (two a second) since
        // the figure before it was counted — which, for a borrowed admission, was when its batch was granted (up to a
        // second earlier).
        for (int i = 1; i < remaining.Count; i++)
        {
            double refill = 2 * (1 + (remaining[i].At - remaining[i - 1].At).TotalSeconds);
            Assert.True(remaining[i].Left <= remaining[i - 1].Left + refill + 1, $"remaining went from {remaining[i - 1].Left} to {remaining[i].Left}");
        }
        Assert.InRange(remaining[^1].Left, 0, 2);
    }

    [Fact]
    public async Task Under_concurrent_load_the_next_batch_is_borrowed_before_the_current_one_runs_out()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(1, redis.Url, mock.BaseUrl, Key("rpm: 1000000, max_concurrent: 100000"), ", timeout: 250ms");
        var gateway = replicas.Gateways[0];

        // Sixteen clients at once: when a batch runs out, sixteen requests would each ask Redis; the refill, asked for
        // in the background at half a batch, is there before that.
        long callsBefore = await redis.ScriptCallsAsync();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            for (int i = 0; i < 50; i++)
            {
                using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }));
        long calls = await redis.ScriptCallsAsync() - callsBefore;
        double borrowed = 0;
        await Replicas.WaitForAsync(async () => (borrowed = await Replicas.MetricAsync(gateway, "gateway_state_borrowed_total")) > 0, "the borrowed count");
        Assert.True(borrowed >= 0.88 * 800, $"{borrowed} of 800 admissions borrowed");
        // The admissions' own calls and the refills, the flushes of leases and the heartbeat: a small share of 800.
        Assert.True(calls <= 0.15 * 800, $"{calls} script calls for 800 requests");
        // Every lease comes back (the requests' own, and the unused borrowed ones once their batch expires).
        await Replicas.WaitForAsync(async () => await redis.LeasesAsync() == 0, "every lease to be released", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Borrowed_admissions_that_expire_unused_give_their_permit_and_lease_back()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(1, redis.Url, mock.BaseUrl, Key("rpm: 60, max_concurrent: 10"), ", timeout: 250ms");
        var gateway = replicas.Gateways[0];

        // The second request within a second borrows one more admission: three permits of a second each are booked,
        // and three leases taken (two released once their requests end).
        for (int i = 0; i < 2; i++)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        double tat = await redis.TatAsync("rpm");
        await Replicas.WaitForAsync(async () => await redis.LeasesAsync() == 1, "the two ended requests' leases to be released");

        // Nobody comes for it: a second later the flusher gives back the permit (one second of the key's TAT) and the lease.
        await Replicas.WaitForAsync(async () => await redis.TatAsync("rpm") <= tat - 999_000, "the unused permit to be given back", TimeSpan.FromSeconds(5));
        await Replicas.WaitForAsync(async () => await redis.LeasesAsync() == 0, "the unused lease to be released", TimeSpan.FromSeconds(5));
        Assert.Equal(0, await Replicas.MetricAsync(gateway, "gateway_state_borrowed_total"));
    }

    [Fact]
    public async Task A_request_admitted_from_a_borrowed_batch_holds_its_lease_while_it_runs()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(1, redis.Url, mock.BaseUrl, Key("max_concurrent: 10"), ", timeout: 250ms, lease_ttl: 2s");
        var gateway = replicas.Gateways[0];
        for (int i = 0; i < 2; i++)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // A stream of 3.5 s, past the lease TTL (2 s), admitted from the batch: its lease is renewed, not left to expire.
        const string Slow = """{"model":"mock/m","stream":true,"mock":{"chunks":14,"chunk_delay_ms":250}}""";
        using var stream = await gateway.Client.SendAsync(Replicas.Chat(Slow), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var started = Stopwatch.StartNew();
        await Replicas.WaitForAsync(async () => await Replicas.MetricAsync(gateway, "gateway_state_borrowed_total") == 1, "the stream to be admitted from the batch");
        using var body = await stream.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        bool sawLeaseLate = false;
        while (await body.ReadAsync(buffer) > 0)
        {
            if (started.Elapsed > TimeSpan.FromSeconds(2.5) && !sawLeaseLate)
            {
                sawLeaseLate = await redis.LeasesAsync() == 1;
                Assert.True(sawLeaseLate, "the borrowed lease expired while its request ran");
            }
        }
        Assert.True(sawLeaseLate, "the stream ended before the lease TTL passed");
        await Replicas.WaitForAsync(async () => await redis.LeasesAsync() == 0, "the lease to be released");
    }

    [Fact]
    public async Task A_client_that_leaves_during_its_admission_leaks_no_lease_and_does_not_stop_borrowing()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var proxy = new DelayProxy(redis.Port);
        await using var mock = await MockProviderServer.StartAsync();
        await using var replicas = await Replicas.StartAsync(1, proxy.Url, mock.BaseUrl, Key("max_concurrent: 100"), ", timeout: 1s");
        var gateway = replicas.Gateways[0];

        // Redis answers in 0.6 s; the client gives up after 0.15 s, while its admission (the key's first: the
        // borrowing one) is under way. The script still runs and books the lease.
        proxy.Delay = TimeSpan.FromMilliseconds(300);
        using (var leaving = new CancellationTokenSource(TimeSpan.FromMilliseconds(150)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gateway.Client.SendAsync(Replicas.Chat(Chat), leaving.Token));
        }
        proxy.Delay = TimeSpan.Zero;
        // The release follows the late call on the same connection, so once Redis has run a ZREM, it ran the booking first.
        await Replicas.WaitForAsync(async () => await redis.CallsAsync("zrem") > 0, "the late booking's lease to be released");
        Assert.Equal(0, await redis.LeasesAsync());

        // The key still borrows: the leaving request did not keep its borrowing to itself.
        for (int i = 0; i < 10; i++)
        {
            using var response = await gateway.Client.SendAsync(Replicas.Chat(Chat));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await Replicas.WaitForAsync(async () => await Replicas.MetricAsync(gateway, "gateway_state_borrowed_total") > 0, "a borrowed admission");
    }
}
