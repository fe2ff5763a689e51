namespace Gateway.Core.State;

/// <summary>
/// Whether Redis is used at all, as a breaker on its own calls: closed while they succeed; open after
/// <see cref="FailuresToOpen"/> consecutive failures (a timeout, a refused connection, a script error all count), and
/// then no request touches Redis. Only the heartbeat, in the background every second, keeps calling while it is open:
/// its success closes the breaker, so shared mode comes back within about a second of Redis answering again and no
/// request ever waits on a probe.
/// </summary>
internal sealed class BackendHealth
{
    public const int FailuresToOpen = 5;

    private readonly Lock _lock = new();
    private int _consecutiveFailures;
    private bool _open;

    /// <summary>Raised (outside the lock) when the breaker opens (false) or closes (true): one log line per transition.</summary>
    public event Action<bool>? Changed;

    /// <summary>Redis is in use (the breaker is closed): requests may call it.</summary>
    public bool IsUp => !Volatile.Read(ref _open);

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
            if (!_open && _consecutiveFailures >= FailuresToOpen)
            {
                opened = true;
                _open = true;
            }
        }
        if (opened)
        {
            Changed?.Invoke(false);
        }
    }
}
