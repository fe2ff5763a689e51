using System.Collections.Concurrent;

namespace Gateway.Core.Resilience;

/// <summary>
/// Provider name → health, outside any config snapshot: a reload that keeps a provider keeps its circuit state
/// and cooldown.
/// </summary>
internal sealed class ProviderHealthRegistry
{
    private readonly ConcurrentDictionary<string, ProviderHealth> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _time;

    public ProviderHealthRegistry(TimeProvider time) => _time = time;

    /// <summary>With a shared state: every provider's circuit is shared through it (set before the first request).</summary>
    public State.SharedBreakers? Shared { get; set; }

    public IEnumerable<ProviderHealth> All => _byName.Values;

    public ProviderHealth For(string provider) =>
        _byName.GetOrAdd(provider, static (name, registry) => new ProviderHealth(name, registry._time) { Shared = registry.Shared }, this);
}
