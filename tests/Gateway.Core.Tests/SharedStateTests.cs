using Gateway.Core.Config;
using Gateway.Core.Config.Sections;
using Gateway.Core.State;

namespace Gateway.Core.Tests;

/// <summary>The pure parts of the shared state: the Redis health breaker, the state section, the URL.</summary>
public sealed class SharedStateTests
{
    [Fact]
    public void The_health_breaker_opens_after_five_consecutive_failures_and_closes_on_the_next_success()
    {
        var health = new BackendHealth();
        var changes = new List<bool>();
        health.Changed += changes.Add;

        for (int i = 0; i < BackendHealth.FailuresToOpen - 1; i++)
        {
            health.Failed();
        }
        Assert.True(health.IsUp);
        health.Succeeded();
        for (int i = 0; i < BackendHealth.FailuresToOpen - 1; i++)
        {
            health.Failed();
        }
        Assert.True(health.IsUp);
        health.Failed();
        Assert.False(health.IsUp);
        // More failures while open (the heartbeat's) neither close it nor announce it again.
        health.Failed();
        Assert.False(health.IsUp);

        health.Succeeded();
        Assert.True(health.IsUp);
        health.Succeeded();
        Assert.Equal([false, true], changes);
    }

    [Theory]
    [InlineData("redis://127.0.0.1:6379", "127.0.0.1", 6379, false, null, null, null)]
    [InlineData("redis://redis", "redis", 6379, false, null, null, null)]
    [InlineData("rediss://cache.example:6380/2", "cache.example", 6380, true, null, null, 2)]
    [InlineData("redis://:s%40cret@redis:6379", "redis", 6379, false, null, "s@cret", null)]
    [InlineData("redis://gw:pw@redis:6379/0", "redis", 6379, false, "gw", "pw", 0)]
    public void Redis_urls_are_read_with_the_password_kept_secret(string url, string host, int port, bool tls, string? user, string? password, int? database)
    {
        var config = StateSection.Parse(url)!;
        Assert.Equal((host, port, tls, user, password, database), (config.Host, config.Port, config.Tls, config.User, config.Password?.Reveal(), config.Database));
        Assert.DoesNotContain(password ?? "\0", config.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://redis:6379")]
    [InlineData("redis://")]
    [InlineData("redis://redis:6379/16")]
    [InlineData("redis://redis:6379/x")]
    [InlineData("redis://redis:6379?ssl=true")]
    public void Other_urls_are_not_redis(string url) => Assert.Null(StateSection.Parse(url));

    private static ConfigLoadResult Parse(string state) => ConfigLoader.Parse(
        "providers:\n  openai: { type: openai, base_url: \"http://127.0.0.1:1/v1\" }\n" + state + "\n",
        new EnvironmentExpander(name => name == "REDIS_PASSWORD" ? "hunter2-pw" : null));

    [Fact]
    public void The_state_section_has_its_defaults_and_the_password_comes_from_the_environment()
    {
        var state = Parse("state: { backend: redis, url: \"redis://:${REDIS_PASSWORD}@redis:6379\" }").Config!.State!;
        Assert.Equal(TimeSpan.FromMilliseconds(5), state.Timeout);
        Assert.Equal("gw:", state.KeyPrefix);
        Assert.Equal(TimeSpan.FromMilliseconds(100), state.FlushInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), state.LeaseTtl);
        Assert.Equal(64, state.BorrowMax);
        Assert.Equal("hunter2-pw", state.Password!.Reveal());
        Assert.Equal(0, Parse("state: { backend: redis, url: \"redis://r\", borrow_max: 0 }").Config!.State!.BorrowMax);
        Assert.Null(Parse("state: { backend: local }").Config!.State);
    }

    [Theory]
    [InlineData("state: { backend: memcached, url: \"redis://r\" }", "state.backend: 'memcached' is not a state backend")]
    [InlineData("state: { url: \"redis://r\" }", "state.backend: required")]
    [InlineData("state: { backend: redis }", "state.url: required")]
    [InlineData("state: { backend: redis, url: \"redis://:${UNSET_PW}@r\" }", "state.url: environment variable UNSET_PW is not set")]
    [InlineData("state: { backend: redis, url: \"http://:pw-secret@r\" }", "state.url: expected redis://")]
    [InlineData("state: { backend: redis, url: \"redis://r\", timeout: 0ms }", "state.timeout: must be between")]
    [InlineData("state: { backend: redis, url: \"redis://r\", key_prefix: \"a b\" }", "state.key_prefix: up to 64")]
    [InlineData("state: { backend: redis, url: \"redis://r\", lease_ttl: 1s }", "state.lease_ttl: must be between")]
    [InlineData("state: { backend: redis, url: \"redis://r\", borrow_max: 5000 }", "state.borrow_max: expected an integer from 0 to 1000")]
    [InlineData("state: { backend: redis, url: \"redis://r\", borrow_max: -1 }", "state.borrow_max: expected an integer from 0 to 1000")]
    [InlineData("state: { backend: redis, url: \"redis://r\", pool: 3 }", "state.pool: unknown key")]
    public void Bad_state_sections_are_errors_that_never_echo_the_url(string yaml, string expected)
    {
        var result = Parse(yaml);
        Assert.Null(result.Config);
        Assert.Contains(result.Errors, e => e.ToString().Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.ToString().Contains("pw-secret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, 0, false, 64, 0)] // a key's first call borrows nothing: most keys are not busy
    [InlineData(0, 0, false, 64, 1)] // another request within the lifetime: the key is busy, one to start with
    [InlineData(1, 1, false, 64, 3)] // spent before it expired: twice as many plus one
    [InlineData(31, 31, false, 64, 63)]
    [InlineData(63, 63, false, 64, 64)] // never past borrow_max
    [InlineData(63, 10, true, 64, 10)] // expired with ten used: a lifetime's demand was ten
    [InlineData(5, 0, true, 64, 0)] // nobody came: a quiet key stops borrowing
    [InlineData(40, 12, false, 64, 12)] // closed early (the key's limits changed): what it was using
    [InlineData(7, 7, false, 0, 0)] // borrowing off
    public void The_next_batch_follows_the_keys_demand(int? lastCount, int lastUsed, bool lastExpired, int max, int expected) =>
        Assert.Equal(expected, AdmissionBatch.NextSize(lastCount, lastUsed, lastExpired, max));

    [Fact]
    public void A_batch_hands_out_each_unit_once_until_it_is_spent_expired_or_closed()
    {
        var batch = new AdmissionBatch(3, granted: 0, expires: 1000, leasePrefix: "r1:req7:4", requestsLeft: 50, tokensLeft: 0);
        Assert.Equal(1, batch.TryTake(now: 10));
        Assert.Equal(2, batch.TryTake(now: 10));
        Assert.Equal(0, batch.TryTake(now: 1000));
        Assert.Equal(2, batch.Used);
        Assert.Equal("r1:req7:4:2", batch.Lease(2));

        // The first close learns how many were taken (the rest are given back by the caller); a second learns nothing.
        Assert.Equal(2, batch.Close());
        Assert.Equal(-1, batch.Close());
        Assert.True(batch.IsClosed);
        Assert.Equal(0, batch.TryTake(now: 10));
        Assert.Equal(2, batch.Used);

        var spent = new AdmissionBatch(1, 0, 1000, null, 0, 0);
        Assert.Equal(1, spent.TryTake(10));
        Assert.Equal(0, spent.TryTake(10));
        Assert.Equal(1, spent.Close());
    }

    [Fact]
    public void Units_taken_from_many_threads_at_once_are_each_taken_once()
    {
        var batch = new AdmissionBatch(10_000, 0, long.MaxValue, null, 0, 0);
        var taken = new int[10_001];
        Parallel.For(0, 8, _ =>
        {
            int unit;
            while ((unit = batch.TryTake(0)) > 0)
            {
                Interlocked.Increment(ref taken[unit]);
            }
        });
        Assert.Equal(0, taken[0]);
        Assert.All(taken.AsSpan(1).ToArray(), count => Assert.Equal(1, count));
        Assert.Equal(10_000, batch.Used);
    }

    [Theory]
    [InlineData(64, 100, 1000, 64, 64)] // half spent in a tenth of its lifetime, at the most already
    [InlineData(15, 100, 1000, 64, 31)] // half spent in a tenth: it would run out early, twice as many plus one
    [InlineData(15, 600, 1000, 64, 15)] // half spent past half its lifetime: as many
    [InlineData(1, 0, 1000, 64, 3)]
    public void A_refill_follows_how_fast_half_a_batch_was_spent(int count, long halfSpentAt, long lifetime, int max, int expected) =>
        Assert.Equal(expected, AdmissionBatch.RefillSize(new AdmissionBatch(count, 0, lifetime, null, 0, 0), halfSpentAt, max));

    [Fact]
    public void A_refill_is_spent_after_the_current_batch_and_unused_units_are_given_back_once()
    {
        var returned = new List<(int Count, int Used)>();
        var borrowed = new BorrowedAdmissions(batch => returned.Add((batch.Count, batch.Used)));

        // The first request borrows (nothing for a key's first call), the next ones grow the batch.
        Assert.True(borrowed.StartBorrowing(now: 0, max: 64, out int size));
        Assert.Equal(0, size);
        Assert.False(borrowed.StartBorrowing(0, 64, out _)); // one request borrows at a time
        borrowed.FinishBorrowing(new AdmissionBatch(4, 0, 1000, null, 0, 0));
        Assert.Equal(1, borrowed.TryTake(10, out var current));

        // The taker of the middle unit starts the refill; nobody else does, and nobody borrows while it runs.
        Assert.False(borrowed.StartRefill(current!, 1, 10, 64, out _));
        Assert.Equal(2, borrowed.TryTake(10, out _));
        Assert.True(borrowed.StartRefill(current!, 2, 10, 64, out int refill));
        Assert.Equal(9, refill);
        Assert.False(borrowed.StartBorrowing(10, 64, out _));
        borrowed.FinishRefill(new AdmissionBatch(9, 10, 1010, null, 0, 0), now: 20);

        // The current batch first, then the refill.
        Assert.Equal(3, borrowed.TryTake(30, out var batch));
        Assert.Same(current, batch);
        Assert.Equal(4, borrowed.TryTake(30, out _));
        Assert.Equal(1, borrowed.TryTake(30, out var next));
        Assert.NotSame(current, next);
        Assert.Empty(returned); // the first batch was spent: nothing to give back

        // Expired with units left: given back once (the flusher and a reload may both close it).
        borrowed.CloseExpired(now: 2000);
        borrowed.Drop();
        Assert.Equal([(9, 1)], returned);
        Assert.Equal(0, borrowed.TryTake(30, out _));
    }
}
