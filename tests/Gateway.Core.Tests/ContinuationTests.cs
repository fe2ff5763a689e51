using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Proxy;
using Gateway.Core.Proxy.Continuation;

namespace Gateway.Core.Tests;

public sealed class ContinuationTests
{
    [Theory]
    [InlineData("""{"model":"smart","messages":[{"role":"user","content":"Hi"}],"stream":true}""")]
    [InlineData("""{"messages":[{"role":"user","content":"Hi"}],"stream":true,"model":"smart"}""")]
    public void Body_AppendsTheDeliveredText_AndSwapsTheModel(string original)
    {
        var bytes = Encoding.UTF8.GetBytes(original);
        var inspection = RequestInspector.Inspect(new ReadOnlySequence<byte>(bytes));

        var body = ContinuationBody.Build(new ReadOnlySequence<byte>(bytes), inspection, "llama"u8, "say \\\"hi\\\" \\u00e9"u8, PrefillMode.Vllm)!;

        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("llama", json.GetProperty("model").GetString());
        Assert.True(json.GetProperty("continue_final_message").GetBoolean());
        Assert.False(json.GetProperty("add_generation_prompt").GetBoolean());
        var messages = json.GetProperty("messages");
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
        Assert.Equal("say \"hi\" é", messages[1].GetProperty("content").GetString());
    }

    [Fact]
    public void Body_WithoutMessages_CannotBeContinued()
    {
        var bytes = """{"model":"smart","prompt":"Hi"}"""u8.ToArray();
        var inspection = RequestInspector.Inspect(new ReadOnlySequence<byte>(bytes));

        Assert.Null(ContinuationBody.Build(new ReadOnlySequence<byte>(bytes), inspection, "m"u8, "x"u8, PrefillMode.Assistant));
    }

    [Fact]
    public void Tracker_KeepsIdAndText_AndRefusesToolCalls()
    {
        var tracker = new ContinuationTracker();
        tracker.OnData("""{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"""u8, answerComplete: false);
        tracker.OnData("""{"id":"c1","choices":[{"index":0,"delta":{"content":"a\nb"},"finish_reason":null}]}"""u8, answerComplete: false);

        Assert.Equal("c1"u8.ToArray(), tracker.Id);
        Assert.Equal("a\\nb", Encoding.UTF8.GetString(tracker.DeliveredText));
        Assert.True(tracker.CanContinue);

        tracker.OnData("""{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0}]}}]}"""u8, answerComplete: false);
        Assert.False(tracker.CanContinue);
    }

    [Fact]
    public async Task Relay_SendsWholeEventsOnly_AndGivesEveryChunkTheOriginalId()
    {
        var upstream = new MemoryStream(Encoding.UTF8.GetBytes(
            "data: {\"id\":\"second\",\"choices\":[]}\n\ndata: {\"id\":\"second\",\"x\":1}\n\ndata: [DONE]\n\ndata: {\"id\":\"half"));
        var pipe = new Pipe();
        using var relay = new EventRelay();
        using var events = new SseScanner();
        using var cancellation = new CancellationTokenSource();
        using var watchdog = new StreamWatchdog(TimeProvider.System, pipe.Writer, events, cancellation, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));

        var result = await relay.RunAsync(upstream, pipe.Writer, events, "first"u8.ToArray(), watchdog, cancellation.Token);
        await watchdog.StopAsync();
        await pipe.Writer.CompleteAsync();
        var sent = Encoding.UTF8.GetString((await pipe.Reader.ReadAsync()).Buffer.ToArray());

        Assert.Equal(CopyResult.Success, result);
        Assert.Equal("data: {\"id\":\"first\",\"choices\":[]}\n\ndata: {\"id\":\"first\",\"x\":1}\n\ndata: [DONE]\n\n", sent);
        Assert.True(events.SawDone);
    }
}
