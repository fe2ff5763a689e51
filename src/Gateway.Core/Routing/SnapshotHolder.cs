namespace Gateway.Core.Routing;

/// <summary>
/// The one mutable object in Core: the reference to the current snapshot. Readers do a single volatile read per
/// request; a reload publishes a complete new snapshot with one atomic exchange.
/// </summary>
public sealed class SnapshotHolder
{
    private GatewaySnapshot _current;

    public SnapshotHolder(GatewaySnapshot initial) => _current = initial;

    public GatewaySnapshot Current => Volatile.Read(ref _current);

    /// <returns>The snapshot that was replaced. Requests that pinned it may still be using it.</returns>
    public GatewaySnapshot Publish(GatewaySnapshot next) => Interlocked.Exchange(ref _current, next);
}
