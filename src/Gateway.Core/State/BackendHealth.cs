namespace Gateway.Core.State;

/// <summary>
/// Whether Redis is used at all, as a breaker on its own calls: closed while they succeed; open after
/// <see cref="FailuresToOpen"/> consecutive failures (a timeout, a refused connection, a script error all count), and
/// then no request touches Redis for <see cref="OpenFor"/>; after that one call is let through as a probe, and its
/// success closes the breaker (its failure opens it again). The heartbeat, which runs every second, is such a call
/// too, so shared mode comes back within about two seconds of Redis answering again.
/// </summary>
internal sealed class BackendHealth
{
    public const int FailuresToOpen = 5;

    public static readonly TimeSpan OpenFor = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private int _consecutiveFailures;
    private long _openUntil;
    private bool _open;
    private bool _probing;

    public BackendHealth(TimeProvider time) => _time = time;

    /// <summary>Raised (outside the lock) when the breaker opens (false) or closes (true): one log line per transition.</summary>
    public event Action<bool>? Changed;

    /// <summary>Redis is in use (the breaker is closed).</summary>
    public bool IsUp => !Volatile.Read(ref _open);

    /// <summary>Whether this call may go to Redis: always while closed; while open, one probe once <see cref="OpenFor"/> has passed.</summary>
    public bool TryCall()
    {
        if (!Volatile.Read(ref _open))
        {
            // The common case, without the lock: every admitted request asks.
            return true;
        }
        lock (_lock)
        {
            if (!_open)
            {
                return true;
            }
            if (_probing || _time.GetTimestamp() < _openUntil)
            {
                return false;
            }
            _probing = true;
            return true;
        }
    }

    public void Succeeded()
    {
        if (Volatile.Read(ref _consecutiveFailures) == 0 && !Volatile.Read(ref _open))
        {
            return;
        }
        bool closed;
        lock (_lock)
        {
            _consecutiveFailures = 0;
            _probing = false;
            closed = _open;
            _open = false;
        }
        if (closed)
        {
            Changed?.Invoke(true);
        }
    }

    public void Failed()
    {
        bool opened = false;
        lock (_lock)
        {
            _consecutiveFailures++;
            if (_probing || (!_open && _consecutiveFailures >= FailuresToOpen))
            {
                opened = !_open;
                _open = true;
                _probing = false;
                _openUntil = _time.GetTimestamp() + (long)(OpenFor.TotalSeconds * _time.TimestampFrequency);
            }
        }
        if (opened)
        {
            Changed?.Invoke(false);
        }
    }
}
