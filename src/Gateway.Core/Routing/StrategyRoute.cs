using System.Text;
using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>A strategy resolved against one snapshot: its enabled targets in order, with their upstream model names as UTF-8.</summary>
public sealed class StrategyRoute
{
    public StrategyRoute(string name, IReadOnlyList<(ProviderEndpoint Provider, string Model)> targets)
    {
        Name = name;
        var resolved = new RouteTarget[targets.Count];
        for (int i = 0; i < resolved.Length; i++)
        {
            var (provider, model) = targets[i];
            resolved[i] = new RouteTarget(provider, Encoding.UTF8.GetBytes(model), provider.Name + "/" + model);
        }
        Targets = resolved;
    }

    public string Name { get; }

    public IReadOnlyList<RouteTarget> Targets { get; }
}

/// <summary>One place a request can be sent: a provider and the model name it knows.</summary>
/// <param name="QualifiedName">"provider/model", reported to the client in X-Gateway-Model.</param>
public readonly record struct RouteTarget(ProviderEndpoint Provider, ReadOnlyMemory<byte> Model, string QualifiedName);
