using System.Net;
using Gateway.Core.Resilience;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests;

public sealed class ResilienceTests
{
    [Theory]
    [InlineData("Retry-After", "7", 7000.0)]
    [InlineData("Retry-After", "0", 0.0)]
    [InlineData("retry-after-ms", "250", 250.0)]
    [InlineData("x-ms-retry-after-ms", "1500", 1500.0)]
    [InlineData("Retry-After", "Thu, 01 Jan 2026 00:00:30 GMT", 30000.0)]
    [InlineData("Retry-After", "Wed, 31 Dec 2025 23:59:00 GMT", 0.0)]
    [InlineData("Retry-After", "-5", null)]
    [InlineData("Retry-After", "soon", null)]
    [InlineData("retry-after-ms", "-1", null)]
    public void RetryAfter_ReadsEveryFormProvidersSend(string header, string value, double? expectedMs)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation(header, value);

        var delay = RetryAfter.From(response, time);

        Assert.Equal(expectedMs, delay?.TotalMilliseconds);
    }

    [Fact]
    public void Circuit_OpensAtTheThreshold_LetsOneProbeThrough_AndCloses()
    {
        var time = new FakeTimeProvider();
        var health = new ProviderHealth("p", time);

        Assert.True(health.TryAdmit(out var first));
        Assert.False(health.ReportFailure(first, threshold: 2, TimeSpan.FromSeconds(30)));
        Assert.True(health.TryAdmit(out var second));
        Assert.True(health.ReportFailure(second, threshold: 2, TimeSpan.FromSeconds(30)));

        Assert.False(health.TryAdmit(out _));
        Assert.False(health.IsAvailable);
        Assert.Equal(TimeSpan.FromSeconds(30), health.RemainingCooldown);

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(health.TryAdmit(out var probe));
        Assert.Equal(Admission.Probe, probe);
        Assert.False(health.TryAdmit(out _));

        health.ReportSuccess(probe);
        Assert.True(health.TryAdmit(out var closed));
        Assert.Equal(Admission.Closed, closed);
    }

    [Fact]
    public void FailedProbe_ReopensAtOnce_AndAReleasedProbeFreesTheSlot()
    {
        var time = new FakeTimeProvider();
        var health = new ProviderHealth("p", time);
        health.ReportFailure(Admission.Closed, threshold: 1, TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(health.TryAdmit(out var probe));
        health.Release(probe);
        Assert.True(health.TryAdmit(out probe));
        health.ReportFailure(probe, threshold: 5, TimeSpan.FromSeconds(10));

        Assert.False(health.TryAdmit(out _));
    }

    [Fact]
    public void RateLimit_CoolsForRetryAfter_CappedByTheCooldown()
    {
        var time = new FakeTimeProvider();
        var health = new ProviderHealth("p", time);

        health.ReportRateLimited(Admission.Closed, TimeSpan.FromHours(1), cap: TimeSpan.FromSeconds(30));

        Assert.Equal(TimeSpan.FromSeconds(30), health.RemainingCooldown);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(health.IsAvailable);
    }

    [Fact]
    public void Backoff_GrowsExponentially_WithJitter_AndIsCapped()
    {
        for (int i = 0; i < 100; i++)
        {
            Assert.InRange(Backoff.Delay(1, TimeSpan.FromSeconds(5)).TotalMilliseconds, 100, 200);
            Assert.InRange(Backoff.Delay(3, TimeSpan.FromSeconds(5)).TotalMilliseconds, 400, 800);
            Assert.InRange(Backoff.Delay(10, TimeSpan.FromSeconds(1)).TotalMilliseconds, 500, 1000);
            // Never a tight loop, even with max_retry_wait: 0.
            Assert.InRange(Backoff.Delay(1, TimeSpan.Zero).TotalMilliseconds, 100, 200);
        }
    }
}
