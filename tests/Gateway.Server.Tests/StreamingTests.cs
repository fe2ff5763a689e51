using System.Net;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

public sealed class StreamingTests
{
    [Fact]
    public async Task Stream_FirstChunkReachesClient_BeforeLaterChunksAreSent()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true,"mock":{"chunks":5,"chunk_delay_ms":300}}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var first = await events.NextAsync();

        // The mock has sent at most the first chunk or two (300 ms apart) when the first one is already here:
        // nothing in between buffers the stream.
        Assert.Contains("tok0", first, StringComparison.Ordinal);
        Assert.True(mock.LastRequest.ChunksSent <= 2, $"mock had sent {mock.LastRequest.ChunksSent} chunks before the client saw the first");
        var all = new List<string?> { first };
        while (await events.NextAsync() is { } next)
        {
            all.Add(next);
        }
        Assert.Equal(7, all.Count);
        Assert.Equal("[DONE]", all[^1]);
    }

    [Fact]
    public async Task Stream_HasNoBufferingHeaders_AndIsByteIdentical()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        using var direct = new HttpClient();
        var expected = await (await direct.PostAsync(mock.BaseUrl + "/chat/completions", new StringContent("""{"model":"m","stream":true}"""))).Content.ReadAsByteArrayAsync();

        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Equal("local", response.Headers.GetValues("X-Gateway-Provider").Single());
        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task UpstreamClosesMidStream_ClientGetsErrorEventThenAbnormalEnd()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true,"mock":{"chunks":5,"close_after":2}}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());

        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("tok1", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"code\":\"stream_interrupted\"", await events.NextAsync(), StringComparison.Ordinal);
        // No [DONE], no clean end: the read fails, so no client can take the truncated answer for a complete one.
        await Assert.ThrowsAnyAsync<IOException>(async () => await events.NextAsync());
        Assert.Contains(gateway.Logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("stream broke", StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Logs.Lines, line => line.StartsWith("Error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UpstreamClosesMidJsonBody_ClientSeesAbort()
    {
        await using var raw = await RawUpstream.StartAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":\"partial");
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("raw", raw.BaseUrl)));

        using var response = await gateway.ChatAsync("""{"model":"raw/m"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => response.Content.ReadAsByteArrayAsync());
        Assert.IsType<HttpIOException>(failure.InnerException);
    }
}
