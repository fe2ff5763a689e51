using System.Text;
using Gateway.Core.Config;
using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>A strategy resolved against one snapshot: its enabled targets, with their upstream model names as UTF-8, and its policy.</summary>
internal sealed class StrategyRoute
{
    public StrategyRoute(StrategyConfig config, IReadOnlyList<(ProviderEndpoint Provider, StrategyTarget Target)> targets)
    {
        Config = config;
        var resolved = new RouteTarget[targets.Count];
        var weights = new int[targets.Count];
        for (int i = 0; i < resolved.Length; i++)
        {
            var (provider, target) = targets[i];
            resolved[i] = new RouteTarget(provider, Encoding.UTF8.GetBytes(target.Model), provider.Name + "/" + target.Model);
            weights[i] = target.Weight;
            TotalWeight += target.Weight;
        }
        Targets = resolved;
        Weights = weights;
        // Stable: equal weights keep their config order.
        ByWeight = Enumerable.Range(0, resolved.Length).OrderByDescending(i => weights[i]).ToArray();
    }

    public string Name => Config.Name;

    public StrategyConfig Config { get; }

    /// <summary>The enabled targets in config order (disabled providers are left out).</summary>
    public IReadOnlyList<RouteTarget> Targets { get; }

    public IReadOnlyList<int> Weights { get; }

    public int TotalWeight { get; }

    /// <summary>Indexes into <see cref="Targets"/> by descending weight: loadbalance's order after its weighted pick.</summary>
    public IReadOnlyList<int> ByWeight { get; }
}

/// <summary>One place a request can be sent: a provider and the model name it knows.</summary>
/// <param name="QualifiedName">"provider/model", reported to the client in X-Gateway-Model.</param>
internal readonly record struct RouteTarget(ProviderEndpoint Provider, ReadOnlyMemory<byte> Model, string QualifiedName);
