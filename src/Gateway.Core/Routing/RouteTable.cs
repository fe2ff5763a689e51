using System.Collections.Frozen;
using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>
/// Model name → provider or strategy, built once per config revision and read lock-free by every request.
/// Lookups take spans of the request's own bytes: no string is allocated to route a request.
/// </summary>
internal sealed class RouteTable
{
    private readonly FrozenDictionary<string, ProviderEndpoint>.AlternateLookup<ReadOnlySpan<char>> _providers;
    private readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _disabled;
    private readonly FrozenDictionary<string, StrategyRoute>.AlternateLookup<ReadOnlySpan<char>> _strategies;
    private readonly FrozenDictionary<string, (string Target, byte[] Model)>.AlternateLookup<ReadOnlySpan<char>> _aliases;

    /// <param name="aliases">Bare model names (what Claude Code sends) → "provider/model" or a strategy name.</param>
    public RouteTable(
        IEnumerable<ProviderEndpoint> enabled,
        IEnumerable<KeyValuePair<string, string>> disabledReasons,
        IEnumerable<StrategyRoute> strategies,
        IEnumerable<KeyValuePair<string, string>>? aliases = null)
    {
        // Aliases are model names: matched exactly, as model names are.
        // The upstream model of a "provider/model" alias is encoded once here, not per request.
        _aliases = (aliases ?? []).ToFrozenDictionary(a => a.Key, a => (a.Value, System.Text.Encoding.UTF8.GetBytes(a.Value[(a.Value.IndexOf('/', StringComparison.Ordinal) + 1)..])),
            StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        // Provider and strategy names are matched case-insensitively: "OpenAI/gpt-4o" is not a different provider.
        var providers = enabled.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        var disabled = disabledReasons.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        var byName = strategies.ToFrozenDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);
        _providers = providers.GetAlternateLookup<ReadOnlySpan<char>>();
        _disabled = disabled.GetAlternateLookup<ReadOnlySpan<char>>();
        _strategies = byName.GetAlternateLookup<ReadOnlySpan<char>>();
        ProviderNames = string.Join(", ", providers.Keys.Order(StringComparer.Ordinal));
        StrategyNames = string.Join(", ", byName.Keys.Order(StringComparer.Ordinal));
        EnabledProviderCount = providers.Count;
    }

    public int EnabledProviderCount { get; }

    /// <summary>Comma-separated valid prefixes, for the 404 message (names only, never URLs).</summary>
    public string ProviderNames { get; }

    public string StrategyNames { get; }

    public bool TryGetProvider(ReadOnlySpan<char> name, out ProviderEndpoint provider) =>
        _providers.TryGetValue(name, out provider!);

    public bool TryGetDisabledReason(ReadOnlySpan<char> name, out string reason) =>
        _disabled.TryGetValue(name, out reason!);

    public bool TryGetStrategy(ReadOnlySpan<char> name, out StrategyRoute strategy) =>
        _strategies.TryGetValue(name, out strategy!);

    /// <summary>What an alias stands for ("provider/model" or a strategy name), and for the former its upstream model's bytes.</summary>
    public bool TryGetAlias(ReadOnlySpan<char> name, out string target, out ReadOnlyMemory<byte> model)
    {
        bool found = _aliases.TryGetValue(name, out var alias);
        (target, model) = (alias.Target, alias.Model);
        return found;
    }
}
