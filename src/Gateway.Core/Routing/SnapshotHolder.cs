namespace Gateway.Core.Routing;

/// <summary>
/// The one mutable object in Core: the reference to the current snapshot. Readers do a single volatile read per
/// request; a reload publishes a complete new snapshot with one atomic exchange.
/// </summary>
internal sealed class SnapshotHolder
{
    private GatewaySnapshot _current;

    public SnapshotHolder(GatewaySnapshot initial) => _current = initial;

    public GatewaySnapshot Current => Volatile.Read(ref _current);

    /// <summary>The current snapshot with a reference taken for the caller, who must <see cref="GatewaySnapshot.Release"/> it.</summary>
    public GatewaySnapshot Acquire()
    {
        while (true)
        {
            var snapshot = Volatile.Read(ref _current);
            if (snapshot.TryAcquire())
            {
                return snapshot;
            }
            // Retired and released between the read and the acquire: a newer one is already published.
        }
    }

    /// <summary>Publishes <paramref name="next"/> with one atomic exchange and retires the one it replaced.</summary>
    /// <returns>The snapshot that was replaced. Requests that acquired it keep using it until they end.</returns>
    public GatewaySnapshot Publish(GatewaySnapshot next)
    {
        var previous = Interlocked.Exchange(ref _current, next);
        previous.Release();
        Published?.Invoke(next);
        return previous;
    }

    /// <summary>Raised after a new snapshot was published (background work that depends on the config wakes up).</summary>
    public event Action<GatewaySnapshot>? Published;
}
