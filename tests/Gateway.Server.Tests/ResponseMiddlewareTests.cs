using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Gateway.Core.ResponseHooks;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>The streaming-aware response middleware: the tee, the completion callbacks, usage, truncation, ends.</summary>
public sealed class ResponseMiddlewareTests
{
    /// <summary>A middleware that wants every body and keeps what its completion callback saw.</summary>
    private sealed class Recorder : IResponseHook
    {
        public ConcurrentQueue<(CompletionEnd End, byte[] Body, bool Truncated, long Total, TokenUsage? Usage, string? Text, string? Finish)> Seen { get; } = new();

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ResponseHook OnResponse(ResponseStart response)
        {
            response.SetHeader("X-Recorded", "yes");
            return new ResponseHook(WantsBody: true, Completion: completed =>
            {
                Seen.Enqueue((completed.End, completed.Body.ToArray(), completed.Truncated, completed.TotalBytes, completed.Usage, completed.Text, completed.FinishReason));
                Done.TrySetResult();
                return ValueTask.CompletedTask;
            });
        }
    }

    /// <summary>Replaces one byte with another in every event and body; at the end of a stream, adds one event of its own.</summary>
    private sealed class ByteSwap(byte from, byte to, string? finalEvent = null) : IResponseHook, IBodyTransform
    {
        public ResponseHook OnResponse(ResponseStart response) => new(Transform: this);

        public void TransformEvent(ReadOnlySpan<byte> data, System.Buffers.IBufferWriter<byte> output)
        {
            output.Write("data: "u8);
            output.Write(Swap(data));
            output.Write("\n\n"u8);
        }

        public void Finish(System.Buffers.IBufferWriter<byte> output)
        {
            if (finalEvent is not null)
            {
                output.Write(Encoding.UTF8.GetBytes("data: " + finalEvent + "\n\n"));
            }
        }

        public void TransformBody(ReadOnlySpan<byte> body, System.Buffers.IBufferWriter<byte> output) => output.Write(Swap(body));

        private byte[] Swap(ReadOnlySpan<byte> data)
        {
            var copy = data.ToArray();
            copy.AsSpan().Replace(from, to);
            return copy;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoTransforms_Compose_InRegistrationOrder(bool stream)
    {
        await using var mock = await MockProviderServer.StartAsync();
        // 'o' -> '0' by the first, then '0' -> 'O' by the second: only both, in this order, turn 'o' into 'O'.
        var first = new ByteSwap((byte)'o', (byte)'0', finalEvent: """{"note":"f00"}""");
        var second = new ByteSwap((byte)'0', (byte)'O');
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)), responseMiddleware: [first, second]);
        var body = stream ? """{"model":"local/m","stream":true}""" : """{"model":"local/m"}""";

        using var response = await gateway.PostAsync("/v1/chat/completions", body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        // The first transform's own final event (written with an 'o') passed through the second only.
        const string finalEvent = "data: {\"note\":\"fOO\"}\n\n";
        Assert.Equal(stream, text.EndsWith(finalEvent, StringComparison.Ordinal));
        var upstreamPart = text.Replace(finalEvent, "", StringComparison.Ordinal);
        Assert.True(!upstreamPart.Contains('o', StringComparison.Ordinal) && !upstreamPart.Contains('0', StringComparison.Ordinal), text);
        Assert.Contains(stream ? "\"cOntent\":\"tOkO \"" : "HellO frOm the mOck", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientGetsIdenticalBytes_WithAndWithoutTheTee_AndTheCallbackSeesThemAll(bool stream)
    {
        await using var mock = await MockProviderServer.StartAsync();
        var recorder = new Recorder();
        await using var plain = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        await using var teed = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)), responseMiddleware: [recorder]);
        var body = stream ? """{"model":"local/m","stream":true,"stream_options":{"include_usage":true}}""" : """{"model":"local/m"}""";

        var withoutTee = await (await plain.PostAsync("/v1/chat/completions", body)).Content.ReadAsByteArrayAsync();
        using var response = await teed.PostAsync("/v1/chat/completions", body);
        var withTee = await response.Content.ReadAsByteArrayAsync();
        await recorder.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(withoutTee, withTee);
        Assert.Equal("yes", response.Headers.GetValues("X-Recorded").Single());
        var seen = Assert.Single(recorder.Seen);
        Assert.Equal(CompletionEnd.Completed, seen.End);
        Assert.Equal(withTee, seen.Body);
        Assert.Equal(stream ? new TokenUsage(9, 5, 14) : new TokenUsage(12, 6, 18), seen.Usage);
        Assert.Equal(stream ? "tok0 tok1 tok2 tok3 tok4 " : "Hello from the mock provider.", seen.Text);
        Assert.Equal("stop", seen.Finish);
    }

    [Fact]
    public async Task Callback_SeesTheWholeStream_WhenReadsSplitLinesAndUtf8Characters()
    {
        var e = Encoding.UTF8.GetBytes("é");
        var head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
        var first = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf";
        var second = "\"},\"finish_reason\":null}]}\n\ndata: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        await using var raw = await RawUpstream.StartPiecesAsync(TimeSpan.FromMilliseconds(30),
            Encoding.ASCII.GetBytes(head), Encoding.UTF8.GetBytes(first), e[..1], e[1..], Encoding.UTF8.GetBytes(second));
        var recorder = new Recorder();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("raw", raw.BaseUrl)), responseMiddleware: [recorder]);

        using var response = await gateway.ChatAsync("""{"model":"raw/m","stream":true}""");
        var text = await response.Content.ReadAsStringAsync();
        await recorder.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var seen = Assert.Single(recorder.Seen);
        Assert.Equal(Encoding.UTF8.GetBytes(text), seen.Body);
        Assert.Equal("café", seen.Text);
        Assert.Equal(CompletionEnd.Completed, seen.End);
    }

    [Fact]
    public async Task BufferStopsAtTheCap_AndRecordsTruncation_WhileTheClientGetsEverything()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Chunks = 40 });
        var recorder = new Recorder();
        await using var gateway = await TestGateway.StartAsync(
            TestGateway.Config("completion_buffer_max_bytes: 1024\n", ("local", mock.BaseUrl)), responseMiddleware: [recorder]);

        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true}""");
        var all = await response.Content.ReadAsByteArrayAsync();
        await recorder.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var seen = Assert.Single(recorder.Seen);
        Assert.True(seen.Truncated);
        Assert.Equal(1024, seen.Body.Length);
        Assert.Equal(all.Length, seen.Total);
        Assert.Equal(all[..1024], seen.Body);
        Assert.EndsWith("data: [DONE]\n\n", Encoding.UTF8.GetString(all), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientAbort_IsReportedAsAbort_AndUpstreamFailureAsFailure()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Chunks = 50, ChunkDelayMs = 50 });
        var recorder = new Recorder();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)), responseMiddleware: [recorder]);

        using (var cancel = new CancellationTokenSource())
        {
            using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true}""", cancel.Token);
            var events = new SseReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            await events.NextAsync();
            await cancel.CancelAsync();
        }
        await recorder.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CompletionEnd.ClientAborted, Assert.Single(recorder.Seen).End);

        var failing = new Recorder();
        await using var broken = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var second = await TestGateway.StartAsync(TestGateway.Config(("local", broken.BaseUrl)), responseMiddleware: [failing]);
        using var cut = await second.ChatAsync("""{"model":"local/m","stream":true}""");
        await Assert.ThrowsAnyAsync<Exception>(() => cut.Content.ReadAsStringAsync());
        await failing.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CompletionEnd.UpstreamFailed, Assert.Single(failing.Seen).End);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task IncludeInStreams_GetsUsageForEveryStream_AndTheClientOnlySeesWhatItAskedFor(bool clientAsked)
    {
        await using var mock = await MockProviderServer.StartAsync();
        var recorder = new Recorder();
        await using var gateway = await TestGateway.StartAsync(
            TestGateway.Config("usage: { include_in_streams: true }\n", ("local", mock.BaseUrl)), responseMiddleware: [recorder]);
        var body = clientAsked
            ? """{"model":"local/m","stream":true,"stream_options":{"include_usage":true}}"""
            : """{"model":"local/m","stream":true}""";

        using var response = await gateway.ChatAsync(body);
        var text = await response.Content.ReadAsStringAsync();
        await recorder.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(clientAsked ? """{"model":"m","stream":true,"stream_options":{"include_usage":true}}""" : """{"stream_options":{"include_usage":true},"model":"m","stream":true}""",
            mock.LastRequest.BodyText);
        Assert.Equal(clientAsked, text.Contains("\"usage\"", StringComparison.Ordinal));
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        Assert.Equal(new TokenUsage(9, 5, 14), Assert.Single(recorder.Seen).Usage);
    }
}
