using Gateway.Core.Config;
using Gateway.Core.Config.Sections;
using Gateway.Core.State;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests;

/// <summary>The pure parts of the shared state: the Redis health breaker, the state section, the URL.</summary>
public sealed class SharedStateTests
{
    [Fact]
    public void The_health_breaker_opens_after_five_failures_lets_one_probe_through_a_second_later_and_closes_on_its_success()
    {
        var time = new FakeTimeProvider();
        var health = new BackendHealth(time);
        var changes = new List<bool>();
        health.Changed += changes.Add;

        for (int i = 0; i < BackendHealth.FailuresToOpen - 1; i++)
        {
            Assert.True(health.TryCall());
            health.Failed();
        }
        Assert.True(health.IsUp);
        health.Succeeded();
        for (int i = 0; i < BackendHealth.FailuresToOpen; i++)
        {
            health.Failed();
        }
        Assert.False(health.IsUp);
        Assert.False(health.TryCall());

        time.Advance(BackendHealth.OpenFor);
        Assert.True(health.TryCall());
        Assert.False(health.TryCall());
        health.Failed();
        Assert.False(health.TryCall());

        time.Advance(BackendHealth.OpenFor);
        Assert.True(health.TryCall());
        health.Succeeded();
        Assert.True(health.IsUp);
        Assert.True(health.TryCall());
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
        Assert.Equal("hunter2-pw", state.Password!.Reveal());
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
    [InlineData("state: { backend: redis, url: \"redis://r\", pool: 3 }", "state.pool: unknown key")]
    public void Bad_state_sections_are_errors_that_never_echo_the_url(string yaml, string expected)
    {
        var result = Parse(yaml);
        Assert.Null(result.Config);
        Assert.Contains(result.Errors, e => e.ToString().Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.ToString().Contains("pw-secret", StringComparison.Ordinal));
    }
}
