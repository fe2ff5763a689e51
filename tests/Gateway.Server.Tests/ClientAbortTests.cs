using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>A client that goes away stops the generation it asked for: nobody pays for tokens no one reads.</summary>
public sealed class ClientAbortTests
{
    [Fact]
    public async Task AbortBeforeHeaders_CancelsUpstreamRequest()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)).Replace("timeout: 5s", "timeout: 60s", StringComparison.Ordinal));
        using var cancel = new CancellationTokenSource();

        var pending = gateway.ChatAsync("""{"model":"local/m","mock":{"delay_ms":60000}}""", cancel.Token);
        var arrived = await mock.NextArrivalAsync(TimeSpan.FromSeconds(5));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await arrived.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        // A client leaving is not a failure: nothing on the request path warns about it.
        Assert.DoesNotContain(gateway.Logs.Lines, line =>
            (line.StartsWith("Warning", StringComparison.Ordinal) || line.StartsWith("Error", StringComparison.Ordinal))
            && !line.StartsWith("Warning Gateway: auth: no auth section", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AbortMidStream_CancelsUpstreamStream()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        var response = await gateway.ChatAsync("""{"model":"local/m","stream":true,"mock":{"chunks":1000,"chunk_delay_ms":50}}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());
        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);
        response.Dispose();

        await mock.LastRequest.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(mock.LastRequest.ChunksSent < 1000);
    }
}
