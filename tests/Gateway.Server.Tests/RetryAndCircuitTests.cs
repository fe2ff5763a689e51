using System.Net;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Server.Tests;

/// <summary>Retries on the same provider, their spacing, and the circuit breaker; time moved by a FakeTimeProvider where it matters.</summary>
public sealed class RetryAndCircuitTests
{
    private static readonly TimeSpan Signal = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ServerErrorOnce_IsRetriedOnTheSameProvider()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Status = 500, FailTimes = 1 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", response.Headers.GetValues("X-Gateway-Attempts").Single());
        Assert.Equal(2, mock.Requests.Count);
        Assert.Equal(mock.Requests.First().Body, mock.Requests.Last().Body);
    }

    [Fact]
    public async Task PersistentServerError_OnADirectRequest_IsPassedThroughAfterTheRetries()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl, "retries: 2")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("""{"error":{"message":"mock failure 503","type":"server_error","param":null,"code":"mock_503"}}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("3", response.Headers.GetValues("X-Gateway-Attempts").Single());
        Assert.Equal(3, mock.Requests.Count);
    }

    [Fact]
    public async Task Retries_AreSpacedByJitteredExponentialBackoff_AndBounded()
    {
        var time = new FakeTimeProvider();
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Status = 500 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl, "retries: 2, max_retry_wait: 5s")), time: time);

        var request = gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
        await mock.NextArrivalAsync(Signal);

        // Retry n waits a jittered 100–200 ms, then 200–400 ms, on the gateway's clock: the next attempt cannot leave before it.
        var delays = new List<int>();
        for (int retry = 1; retry <= 2; retry++)
        {
            int expected = retry;
            await gateway.Logs.WaitForAsync(_ => gateway.Logs.Count("retrying provider local") == expected, Signal);
            int delay = RetryDelayMs(gateway.Logs.Lines.Where(l => l.Contains("retrying provider local", StringComparison.Ordinal)).Last());
            delays.Add(delay);
            time.Advance(TimeSpan.FromMilliseconds(delay - 1));
            Assert.Equal(retry, mock.Requests.Count);
            time.Advance(TimeSpan.FromMilliseconds(1));
            await mock.NextArrivalAsync(Signal);
        }
        Assert.InRange(delays[0], 100, 200);
        Assert.InRange(delays[1], 200, 400);

        using var response = await request;
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(3, mock.Requests.Count);
    }

    private static int RetryDelayMs(string line)
    {
        var match = System.Text.RegularExpressions.Regex.Match(line, @"in (\d+) ms");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Circuit_OpensAfterConsecutiveFailures_ProbesOnce_AndClosesOnRecovery()
    {
        var time = new FakeTimeProvider();
        await using var flaky = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var backup = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              smart: { targets: [flaky/a, backup/b] }
            """, ("flaky", flaky.BaseUrl, "retries: 0, circuit: { failure_threshold: 2, cooldown: 30s }"), ("backup", backup.BaseUrl, "")), time: time);

        for (int i = 0; i < 2; i++)
        {
            using var failedOver = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");
            Assert.Equal("backup/b", failedOver.Headers.GetValues("X-Gateway-Model").Single());
        }
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("Provider flaky: circuit opened for 30s", StringComparison.Ordinal));
        var ready = await gateway.Client.GetStringAsync("/readyz");
        Assert.Contains("\"flaky\":{\"enabled\":true,\"cooling_down_seconds\":30", ready, StringComparison.Ordinal);

        // Open: the provider is not contacted at all.
        using (var skipped = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}"""))
        {
            Assert.Equal("backup/b", skipped.Headers.GetValues("X-Gateway-Model").Single());
            Assert.Equal("1", skipped.Headers.GetValues("X-Gateway-Attempts").Single());
        }
        Assert.Equal(2, flaky.Requests.Count);

        // After the cooldown one request probes the recovered provider; while it is in flight the others still go elsewhere.
        time.Advance(TimeSpan.FromSeconds(31));
        flaky.Defaults = new MockBehavior { DelayMs = 500 };
        var probe = gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");
        for (int i = 0; i < 3; i++)
        {
            await flaky.NextArrivalAsync(Signal);
        }
        using (var during = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}"""))
        {
            Assert.Equal("backup/b", during.Headers.GetValues("X-Gateway-Model").Single());
        }
        using (var probed = await probe)
        {
            Assert.Equal("flaky/a", probed.Headers.GetValues("X-Gateway-Model").Single());
        }

        // Closed again: traffic is back.
        flaky.Defaults = new MockBehavior();
        using var back = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");
        Assert.Equal("flaky/a", back.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Equal(4, flaky.Requests.Count);
    }

    [Fact]
    public async Task ProbeThatFails_ReopensTheCircuit()
    {
        var time = new FakeTimeProvider();
        await using var flaky = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var backup = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              smart: { targets: [flaky/a, backup/b] }
            """, ("flaky", flaky.BaseUrl, "retries: 0, circuit: { failure_threshold: 1, cooldown: 10s }"), ("backup", backup.BaseUrl, "")), time: time);

        (await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""")).Dispose();
        time.Advance(TimeSpan.FromSeconds(11));
        (await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""")).Dispose();
        Assert.Equal(2, flaky.Requests.Count);
        (await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""")).Dispose();

        Assert.Equal(2, flaky.Requests.Count);
        Assert.Equal(3, backup.Requests.Count);
    }

    [Fact]
    public async Task EveryTargetOpen_TriesTheOneThatFailedLongestAgo()
    {
        var time = new FakeTimeProvider();
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              smart: { targets: [second/b, first/a] }
            """,
            ("first", first.BaseUrl, "retries: 0, circuit: { failure_threshold: 1, cooldown: 60s }"),
            ("second", second.BaseUrl, "retries: 0, circuit: { failure_threshold: 1, cooldown: 60s }")), time: time);

        using (var failed = await gateway.PostAsync("/v1/chat/completions", """{"model":"first/a"}"""))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }
        time.Advance(TimeSpan.FromSeconds(1));
        using (var failed = await gateway.PostAsync("/v1/chat/completions", """{"model":"second/b"}"""))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }
        first.Defaults = new MockBehavior();

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("first/a", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Single(second.Requests);
    }

    [Fact]
    public async Task OpenCircuit_GetsOneAttemptPerRequest_NotItsRetries()
    {
        // A provider that is down for everyone: once its circuit is open, each request costs it one attempt (forced,
        // since no other target is left), not one plus its retries: no retry storm on top of an outage.
        var time = new FakeTimeProvider();
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("down", mock.BaseUrl, "retries: 1, circuit: { failure_threshold: 2, cooldown: 30s }")), time: time);

        // Closed: the first request gets its retry (after a backoff on the gateway's clock), and the second failure opens the circuit.
        var first = gateway.PostAsync("/v1/chat/completions", """{"model":"down/m"}""");
        await gateway.Logs.WaitForAsync(l => l.Contains("retrying provider down", StringComparison.Ordinal), Signal);
        time.Advance(TimeSpan.FromSeconds(1));
        using (var failed = await first)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            Assert.Equal("2", failed.Headers.GetValues("X-Gateway-Attempts").Single());
        }
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("Provider down: circuit opened for 30s", StringComparison.Ordinal));

        for (int i = 0; i < 3; i++)
        {
            using var failed = await gateway.PostAsync("/v1/chat/completions", """{"model":"down/m"}""");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            Assert.Equal("1", failed.Headers.GetValues("X-Gateway-Attempts").Single());
        }
        Assert.Equal(5, mock.Requests.Count);
    }

    [Fact]
    public async Task LoadBalance_SplitsByWeight()
    {
        await using var heavy = await MockProviderServer.StartAsync();
        await using var light = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              spread:
                mode: loadbalance
                targets: [{ target: heavy/a, weight: 3 }, { target: light/b, weight: 1 }]
            """, ("heavy", heavy.BaseUrl, ""), ("light", light.BaseUrl, "")));

        const int total = 400;
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, total).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"spread"}""");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            finally
            {
                gate.Release();
            }
        }));

        // Expected 300 of 400 (σ ≈ 8.7): ±45 is more than five standard deviations.
        Assert.Equal(total, heavy.Requests.Count + light.Requests.Count);
        Assert.InRange(heavy.Requests.Count, 255, 345);
    }

    [Fact]
    public async Task LoadBalance_FailsOverToTheOthers()
    {
        await using var light = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              spread:
                mode: loadbalance
                targets: [{ target: heavy/a, weight: 3 }, { target: light/b, weight: 1 }]
            """, ("heavy", RawUpstream.RefusingBaseUrl(), "retries: 0"), ("light", light.BaseUrl, "")));

        for (int i = 0; i < 10; i++)
        {
            using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"spread"}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(10, light.Requests.Count);
    }
}
