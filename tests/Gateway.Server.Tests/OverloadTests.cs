using System.Net;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>Load shedding (server.overload): new API requests get 503 overloaded at once; in-flight ones and the probes are untouched.</summary>
public sealed class OverloadTests
{
    private static readonly TimeSpan Signal = TimeSpan.FromSeconds(10);

    private static string Yaml(string overload, Uri mock) => $$"""
        server: { host: 127.0.0.1, port: 0, drain_timeout: 5s, overload: { {{overload}} } }
        providers:
          local: { type: openai, base_url: {{mock}}, api_key: "${TEST_PROVIDER_KEY}", timeout: 5s }
        request_log: { format: text }
        """;

    [Fact]
    public async Task PastMaxConcurrentRequests_NewRequestsAreShed_WhileTheStreamsInFlightFinish()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml("max_concurrent_requests: 2", mock.BaseUrl));
        // Started together, each stream stays in flight for ~1.5 s after its first event: the window for the third request.
        const string Stream = """{"model":"local/m","stream":true,"mock":{"chunks":6,"chunk_delay_ms":300}}""";
        var starting = new[] { gateway.ChatAsync(Stream), gateway.ChatAsync(Stream) };
        using var first = await starting[0];
        using var second = await starting[1];
        var firstEvents = new SseReader(await first.Content.ReadAsStreamAsync());
        var secondEvents = new SseReader(await second.Content.ReadAsStreamAsync());
        Assert.Contains("tok0", await firstEvents.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("tok0", await secondEvents.NextAsync(), StringComparison.Ordinal);

        using var shed = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
        var message = await OpenAiAssert.ErrorAsync(shed, HttpStatusCode.ServiceUnavailable, "overloaded");
        Assert.Contains("2 requests in flight", message, StringComparison.Ordinal);
        Assert.Equal("1", shed.Headers.GetValues("Retry-After").Single());
        Assert.False(shed.Headers.Contains("x-should-retry"), "a shed request is worth retrying");
        Assert.Equal(2, mock.Requests.Count);

        // Probes and metrics still answer, and readiness shows the load without taking the gateway out of rotation.
        using var alive = await gateway.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        using var ready = await gateway.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using (var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()))
        {
            var overload = json.RootElement.GetProperty("overload");
            Assert.Equal(2, overload.GetProperty("in_flight").GetInt64());
            Assert.Equal(2, overload.GetProperty("max_concurrent_requests").GetInt64());
        }
        Assert.Matches("""(?m)^gateway_overload_shed_total\{.*reason="concurrency".*\} 1( |$)""", await gateway.Client.GetStringAsync("/metrics"));

        // The streams in flight were not touched: both end complete.
        foreach (var events in new[] { firstEvents, secondEvents })
        {
            string? last = null;
            while (await events.NextAsync() is { } next)
            {
                last = next;
            }
            Assert.Equal("[DONE]", last);
        }

        // Once they have ended (their request-log lines are written after the slot is given back), requests are admitted again.
        await gateway.Logs.WaitForAsync(_ => gateway.Logs.Count("served_by=local/m status=200") == 2, Signal);
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("status=503", StringComparison.Ordinal) && l.TrimEnd().EndsWith("error=overloaded", StringComparison.Ordinal));
        using var admitted = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
    }

    [Fact]
    public async Task PastMaxMemory_NewRequestsAreShed_BeforeTheBodyIsReadOrAProviderAsked()
    {
        await using var mock = await MockProviderServer.StartAsync();
        // Any .NET process holds more than 1 MiB.
        await using var gateway = await TestGateway.StartAsync(Yaml("max_memory: 1MiB", mock.BaseUrl));
        int collections = GC.CollectionCount(GC.MaxGeneration);

        using var shed = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");

        var message = await OpenAiAssert.ErrorAsync(shed, HttpStatusCode.ServiceUnavailable, "overloaded");
        Assert.Contains("memory in use at or above its limit of 1 MiB", message, StringComparison.Ordinal);
        Assert.Equal("1", shed.Headers.GetValues("Retry-After").Single());
        Assert.Empty(mock.Requests);
        // Before refusing, the gateway asked the GC to give memory back (here in vain: no process fits in 1 MiB).
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > collections);
        var ready = await gateway.Client.GetStringAsync("/readyz");
        using var json = JsonDocument.Parse(ready);
        var overload = json.RootElement.GetProperty("overload");
        Assert.Equal(1 << 20, overload.GetProperty("max_memory_bytes").GetInt64());
        Assert.True(overload.GetProperty("memory_bytes").GetInt64() > 1 << 20);
        Assert.Equal(0, overload.GetProperty("in_flight").GetInt64());
    }

    [Fact]
    public async Task Limits_FollowAReload()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var directory = Directory.CreateTempSubdirectory("gateway-overload-");
        try
        {
            var path = Path.Combine(directory.FullName, "config.yaml");
            await using var gateway = await TestGateway.StartFromFileAsync(path, Yaml("max_memory: 1MiB", mock.BaseUrl));
            using (var shed = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}"""))
            {
                await OpenAiAssert.ErrorAsync(shed, HttpStatusCode.ServiceUnavailable, "overloaded");
            }

            var reloaded = gateway.NextSnapshotAsync();
            await File.WriteAllTextAsync(path, Yaml("max_memory: 100%", mock.BaseUrl));
            await reloaded;

            using var admitted = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
            Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
