using Gateway.Core.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Models;

/// <summary>
/// Refreshes every provider's model list, concurrently, and publishes a complete new catalog. A provider that
/// fails keeps its last good list (stale is better than empty). Each provider's state change is logged once — not
/// every interval. Called by one background loop only; the request path never waits for it.
/// </summary>
internal sealed partial class ModelRefresher
{
    private readonly ModelCatalogHolder _catalog;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, IReadOnlyList<DiscoveredModel>> _lastGood = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _lastResult = new(StringComparer.OrdinalIgnoreCase);
    private long _revision;

    public ModelRefresher(ModelCatalogHolder catalog, ILogger<ModelRefresher> logger, TimeProvider time)
    {
        _catalog = catalog;
        _logger = logger;
        _time = time;
    }

    /// <summary>The first catalog, before any provider was asked: declared models and strategies.</summary>
    public static ModelCatalog Initial(GatewaySnapshot snapshot) => ModelCatalog.Build(snapshot, new Dictionary<string, IReadOnlyList<DiscoveredModel>>(), 0);

    public async Task RefreshAsync(GatewaySnapshot snapshot, CancellationToken cancellationToken)
    {
        var providers = snapshot.Providers.Where(p => p.Config.DiscoverModels).ToList();
        var fetches = providers.Select(p => ModelDiscovery.FetchAsync(p, snapshot.Config.Models.FetchTimeout, _time, cancellationToken)).ToList();
        await Task.WhenAll(fetches);
        cancellationToken.ThrowIfCancellationRequested();

        for (int i = 0; i < providers.Count; i++)
        {
            var name = providers[i].Name;
            var (models, failure) = fetches[i].Result;
            var result = models is null ? "failed: " + failure : "ok";
            Diagnostics.GatewayMetrics.ModelRefreshes.Add(1, new System.Diagnostics.TagList { { "provider", name }, { "result", models is null ? "error" : "ok" } });
            bool changed;
            lock (_lastResult)
            {
                changed = !_lastResult.TryGetValue(name, out var previous) || previous != result;
                _lastResult[name] = result;
            }
            if (models is not null)
            {
                _lastGood[name] = models;
                if (changed)
                {
                    RefreshSucceeded(_logger, name, models.Count);
                }
            }
            else if (changed)
            {
                RefreshFailed(_logger, name, failure!, _lastGood.TryGetValue(name, out var kept) ? kept.Count : 0);
            }
        }

        var current = new Dictionary<string, IReadOnlyList<DiscoveredModel>>(StringComparer.OrdinalIgnoreCase);
        foreach (var provider in snapshot.Providers)
        {
            if (provider.Config.DiscoverModels && _lastGood.TryGetValue(provider.Name, out var models))
            {
                current[provider.Name] = models;
            }
        }
        _catalog.Publish(ModelCatalog.Build(snapshot, current, ++_revision));
    }

    /// <summary>The last refresh result per provider ("ok" or "failed: reason"), for /readyz.</summary>
    public IReadOnlyDictionary<string, string> LastResults
    {
        get
        {
            lock (_lastResult)
            {
                return new Dictionary<string, string>(_lastResult, StringComparer.OrdinalIgnoreCase);
            }
        }
    }

    [LoggerMessage(300, LogLevel.Information, "models: provider {Provider} lists {Count} models")]
    private static partial void RefreshSucceeded(ILogger logger, string provider, int count);

    [LoggerMessage(301, LogLevel.Warning, "models: provider {Provider} {Failure}; keeping its last good list ({Kept} models)")]
    private static partial void RefreshFailed(ILogger logger, string provider, string failure, int kept);
}
