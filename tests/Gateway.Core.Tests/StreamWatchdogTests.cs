using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Gateway.Core.Proxy;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests;

/// <summary>The writer hand-off between the copy loop and the watchdog's timer (keepalives while the upstream is silent).</summary>
public sealed class StreamWatchdogTests
{
    private static readonly TimeSpan Keepalive = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DataArrivingWhileAKeepaliveIsStillFlushing_WaitsUntilTheTimerHandsTheWriterBack()
    {
        var time = new FakeTimeProvider();
        // Every unread byte holds the writer's flush: the keepalive's flush stays pending until the test reads it.
        var client = new Pipe(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1, useSynchronizationContext: false));
        var events = AtEventBoundary();
        using var upstream = new CancellationTokenSource();
        using var watchdog = new StreamWatchdog(time, client.Writer, events, upstream, Idle, Keepalive);

        watchdog.Waiting();
        time.Advance(Keepalive);
        Assert.Equal(1, watchdog.KeepalivesSent);

        var resume = watchdog.ResumeAsync().AsTask();
        Assert.False(resume.IsCompleted);

        var read = await client.Reader.ReadAsync();
        Assert.Equal(": keepalive\n\n", Encoding.ASCII.GetString(read.Buffer.ToArray()));
        client.Reader.AdvanceTo(read.Buffer.End);
        await resume.WaitAsync(TimeSpan.FromSeconds(10));

        // The loop owns the writer again: the timer must not write while it does.
        time.Advance(Keepalive * 3);
        Assert.Equal(1, watchdog.KeepalivesSent);
        Assert.False(upstream.IsCancellationRequested);
        await watchdog.StopAsync();
    }

    [Fact]
    public async Task DataArrivingWhileTheWriterIsFree_TakesItBackAtOnce_AndTheNextSilenceIsWatchedAgain()
    {
        var time = new FakeTimeProvider();
        var client = new Pipe();
        using var upstream = new CancellationTokenSource();
        using var watchdog = new StreamWatchdog(time, client.Writer, AtEventBoundary(), upstream, Idle, Keepalive);

        watchdog.Waiting();
        var resumed = watchdog.ResumeAsync().AsTask();
        Assert.True(resumed.IsCompletedSuccessfully);
        time.Advance(Keepalive * 2);
        Assert.Equal(0, watchdog.KeepalivesSent);

        watchdog.Waiting();
        time.Advance(Idle);
        Assert.True(watchdog.Expired);
        Assert.True(upstream.IsCancellationRequested);
        await watchdog.ResumeAsync();
        await watchdog.StopAsync();
    }

    [Fact]
    public async Task ACompleteStream_EndsAfterTheFinishGrace_EvenWhenTheTimerFoundTheLoopBusy()
    {
        var time = new FakeTimeProvider();
        var client = new Pipe();
        using var upstream = new CancellationTokenSource();
        var events = new SseScanner();
        events.Append("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"u8);
        Assert.True(events.IsComplete);
        using var watchdog = new StreamWatchdog(time, client.Writer, events, upstream, Idle, TimeSpan.FromSeconds(15));

        // The timer fires while the loop owns the writer (data arrived): not silence, so it must look again soon.
        watchdog.Waiting();
        await watchdog.ResumeAsync();
        time.Advance(StreamWatchdog.FinishGrace);
        Assert.False(watchdog.Expired);

        // Then the upstream is silent: the finished stream is closed one grace later, not a keepalive interval later.
        watchdog.Waiting();
        time.Advance(StreamWatchdog.FinishGrace);
        Assert.True(watchdog.Expired);
        Assert.True(upstream.IsCancellationRequested);
        await watchdog.ResumeAsync();
        await watchdog.StopAsync();
    }

    [Fact]
    public async Task AStreamThatCompletesAfterTheFirstWait_EndsAfterTheFinishGrace_NotAtTheNextKeepalive()
    {
        var time = new FakeTimeProvider();
        var client = new Pipe();
        using var upstream = new CancellationTokenSource();
        var events = AtEventBoundary();
        using var watchdog = new StreamWatchdog(time, client.Writer, events, upstream, Idle, TimeSpan.FromSeconds(15));

        // The first wait sets the timer for the keepalive (15 s); then the finish_reason arrives and the upstream goes quiet.
        watchdog.Waiting();
        await watchdog.ResumeAsync();
        events.Append("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"u8);
        watchdog.Waiting();
        time.Advance(StreamWatchdog.FinishGrace);

        Assert.True(watchdog.Expired);
        Assert.Equal(0, watchdog.KeepalivesSent);
        await watchdog.ResumeAsync();
        await watchdog.StopAsync();
    }

    private static SseScanner AtEventBoundary()
    {
        var events = new SseScanner();
        events.Append("data: {}\n\n"u8);
        return events;
    }
}
