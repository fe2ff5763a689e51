using System.Buffers;
using System.IO.Pipelines;

namespace Gateway.Core.Proxy;

/// <summary>
/// Watches a committed response while the copy loop waits for the upstream: after keepalive_interval of silence it
/// writes an SSE comment (only on an event boundary), and after stream_idle_timeout it cancels the upstream read so
/// the response ends as interrupted. A stream whose answer is already complete gets a short grace instead.
/// </summary>
/// <remarks>
/// The client's writer has one owner at a time: the copy loop owns it except while it waits for upstream data, and
/// only then may the timer take it. The hand-off is one interlocked exchange per wait (no lock, no allocation); only
/// when data arrives while a keepalive is being flushed does the loop wait for the timer to hand the writer back.
/// The timer is created on the first wait, so a response that never waits costs no timer.
/// </remarks>
internal sealed class StreamWatchdog : IDisposable
{
    private static readonly byte[] s_keepalive = ": keepalive\n\n"u8.ToArray();

    /// <summary>After a finish_reason, the stream is complete: it is closed this soon if the upstream does not.</summary>
    public static readonly TimeSpan FinishGrace = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly PipeWriter _client;
    private readonly SseScanner? _events;
    private readonly CancellationTokenSource _upstream;
    private readonly long _idle;
    private readonly long _keepalive;
    private readonly long _finishGrace;
    // Who owns the client's writer (see the remarks).
    private const int LoopOwns = 0;
    private const int Free = 1;
    private const int TimerOwns = 2;
    private const int TimerOwnsLoopWaits = 3;
    private int _owner = LoopOwns;
    private TaskCompletionSource? _handBack;
    private ITimer? _timer;
    private bool _graceScheduled;
    private long _waitingSince;
    private long _lastKeepalive;
    private volatile bool _stopped;
    private volatile bool _expired;

    /// <param name="events">The scanner of an event stream; null for other bodies (no keepalives).</param>
    /// <param name="upstream">Cancelled when the idle timeout expires.</param>
    public StreamWatchdog(TimeProvider time, PipeWriter client, SseScanner? events, CancellationTokenSource upstream, TimeSpan idleTimeout, TimeSpan keepaliveInterval)
    {
        _time = time;
        _client = client;
        _events = events;
        _upstream = upstream;
        _idle = ToTicks(idleTimeout);
        _keepalive = events is null || keepaliveInterval >= idleTimeout ? 0 : ToTicks(keepaliveInterval);
        _finishGrace = Math.Min(_idle, ToTicks(FinishGrace));
    }

    /// <summary>The idle timeout (or the finish grace) expired and cancelled the upstream read.</summary>
    public bool Expired => _expired;

    public int KeepalivesSent { get; private set; }

    public TimeSpan IdleTimeout => TimeSpan.FromSeconds(_idle / (double)_time.TimestampFrequency);

    /// <summary>The copy loop is about to wait for the upstream: the timer may use the writer until <see cref="ResumeAsync"/>.</summary>
    public void Waiting()
    {
        long now = _time.GetTimestamp();
        Volatile.Write(ref _waitingSince, now);
        if (_timer is null)
        {
            _graceScheduled = _events is { IsComplete: true };
            _timer = _time.CreateTimer(static state => ((StreamWatchdog)state!).OnTimer(), this, ToSpan(NextDue(now, now) - now), Timeout.InfiniteTimeSpan);
        }
        else if (!_graceScheduled && _events is { IsComplete: true })
        {
            // The answer completed since the timer was set (for a keepalive or the idle timeout, much later): once per
            // stream, bring it forward to the finish grace.
            _graceScheduled = true;
            _timer.Change(ToSpan(_finishGrace), Timeout.InfiniteTimeSpan);
        }
        Volatile.Write(ref _owner, Free);
    }

    /// <summary>Data arrived: the copy loop takes the writer back (waiting only if a keepalive is being flushed).</summary>
    public ValueTask ResumeAsync() =>
        Interlocked.CompareExchange(ref _owner, LoopOwns, Free) == Free ? ValueTask.CompletedTask : TakeBackFromTimerAsync();

    /// <summary>The copy ended: no timer writes from now on, and the caller owns the writer.</summary>
    public async ValueTask StopAsync()
    {
        _stopped = true;
        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }
        if (Volatile.Read(ref _owner) != LoopOwns)
        {
            await ResumeAsync();
        }
    }

    /// <summary>Stops the timer if <see cref="StopAsync"/> was never reached (the copy threw).</summary>
    public void Dispose()
    {
        _stopped = true;
        _timer?.Dispose();
    }

    private async ValueTask TakeBackFromTimerAsync()
    {
        while (true)
        {
            if (Interlocked.CompareExchange(ref _owner, LoopOwns, Free) == Free)
            {
                return;
            }
            var handBack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _handBack, handBack);
            if (Interlocked.CompareExchange(ref _owner, TimerOwnsLoopWaits, TimerOwns) == TimerOwns)
            {
                // The timer sees the waiting loop when it lets go and hands the writer straight to it.
                await handBack.Task;
                return;
            }
            // The timer let go in the meantime: take the writer as usual.
        }
    }

    private bool TryTakeForTimer() => Interlocked.CompareExchange(ref _owner, TimerOwns, Free) == Free;

    private void ReleaseFromTimer()
    {
        if (Interlocked.CompareExchange(ref _owner, Free, TimerOwns) != TimerOwns)
        {
            Volatile.Write(ref _owner, LoopOwns);
            Volatile.Read(ref _handBack)!.TrySetResult();
        }
    }

    private void OnTimer()
    {
        if (_stopped)
        {
            return;
        }
        if (!TryTakeForTimer())
        {
            // The loop is writing (or waiting on a slow client): that is not upstream silence. Look again soon: the
            // loop's next wait starts a new silence, and the finest limit it may have is the finish grace (looking
            // again only after a keepalive interval once let a finished stream linger 15 s instead of 1 s).
            _timer?.Change(ToSpan(_finishGrace), Timeout.InfiniteTimeSpan);
            return;
        }
        bool release = true;
        try
        {
            long now = _time.GetTimestamp();
            long since = Volatile.Read(ref _waitingSince);
            long limit = _events is { IsComplete: true } ? _finishGrace : _idle;
            if (now - since >= limit)
            {
                _expired = true;
                _stopped = true;
                _upstream.Cancel();
                return;
            }
            if (_keepalive > 0 && _events!.AtEventBoundary && now - Math.Max(since, _lastKeepalive) >= _keepalive)
            {
                _lastKeepalive = now;
                KeepalivesSent++;
                _client.Write(s_keepalive);
                var flush = _client.FlushAsync();
                if (!flush.IsCompleted)
                {
                    release = false;
                    _ = ReleaseAfterAsync(flush);
                }
            }
            _timer?.Change(ToSpan(NextDue(since, now) - now), Timeout.InfiniteTimeSpan);
        }
        finally
        {
            if (release)
            {
                ReleaseFromTimer();
            }
        }
    }

    private async Task ReleaseAfterAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush;
        }
        catch (Exception)
        {
            // The client is gone; the copy loop finds out on its own next flush.
        }
        finally
        {
            ReleaseFromTimer();
        }
    }

    private long NextDue(long since, long now)
    {
        long limit = _events is { IsComplete: true } ? _finishGrace : _idle;
        long due = since + limit;
        if (_keepalive > 0)
        {
            due = Math.Min(due, Math.Max(since, _lastKeepalive) + _keepalive);
        }
        return Math.Max(due, now + 1);
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private TimeSpan ToSpan(long ticks) => TimeSpan.FromSeconds(Math.Max(ticks, 1) / (double)_time.TimestampFrequency);
}
