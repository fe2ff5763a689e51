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

    public ProviderHealth For(string provider) => _byName.GetOrAdd(provider, static (name, time) => new ProviderHealth(name, time), _time);
}
