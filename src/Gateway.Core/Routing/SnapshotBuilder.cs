using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Resilience;

namespace Gateway.Core.Routing;

/// <summary>Turns a validated config into a runtime snapshot: provider clients, the frozen route table, strategies.</summary>
internal sealed class SnapshotBuilder
{
    private readonly ProviderClientFactory _clients;
    private readonly ProviderHealthRegistry _health;
    private readonly Func<GatewayConfig, ResponseHooks.ResponsePipeline>? _responses;
    private readonly Spend.SpendLedger _ledger;
    private long _revision;

    /// <param name="responses">Builds the response middleware a config asks for (null: none).</param>
    /// <param name="ledger">The process's spend ledger, handed to every snapshot (null: a new one).</param>
    public SnapshotBuilder(
        ProviderClientFactory clients, ProviderHealthRegistry health, Func<GatewayConfig, ResponseHooks.ResponsePipeline>? responses = null,
        Spend.SpendLedger? ledger = null)
    {
        _clients = clients;
        _health = health;
        _responses = responses;
        _ledger = ledger ?? new Spend.SpendLedger(TimeProvider.System);
    }

    /// <param name="previous">The snapshot being replaced: its endpoints whose settings did not change are kept, with their connections.</param>
    public GatewaySnapshot Build(GatewayConfig config, GatewaySnapshot? previous = null)
    {
        var providers = new List<ProviderEndpoint>();
        var disabled = new List<KeyValuePair<string, string>>();
        foreach (var provider in config.Providers)
        {
            if (provider.Enabled)
            {
                var kept = previous?.Providers.FirstOrDefault(p => p.HasSameSettings(provider));
                if (kept is not null)
                {
                    kept.AddOwner();
                    providers.Add(kept);
                }
                else
                {
                    providers.Add(_clients.Create(provider, _health.For(provider.Name)));
                }
            }
            else
            {
                disabled.Add(new(provider.Name, provider.DisabledReason ?? "disabled"));
            }
        }

        var strategies = new List<StrategyRoute>();
        foreach (var strategy in config.Strategies)
        {
            var targets = new List<(ProviderEndpoint, StrategyTarget)>();
            foreach (var target in strategy.Targets)
            {
                var endpoint = providers.Find(p => string.Equals(p.Name, target.Provider, StringComparison.OrdinalIgnoreCase));
                if (endpoint is not null)
                {
                    targets.Add((endpoint, target));
                }
            }
            strategies.Add(new StrategyRoute(strategy, targets));
        }

        var routes = new RouteTable(providers, disabled, strategies, config.Aliases);
        // The translations' kept state outlives snapshots (a conversation's next turn may come after a reload): resized, not replaced.
        var translation = config.Translation ?? TranslationConfig.Default;
        Providers.Translation.SignatureCache.Shared.Configure(translation.StateCacheEntries, translation.StateCacheTtl);
        return new GatewaySnapshot(config, providers, routes, Interlocked.Increment(ref _revision), _responses?.Invoke(config), _ledger);
    }
}
