using Gateway.Core.Config;
using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>
/// Everything derived from one config revision, immutable. A request acquires the current snapshot once, at its
/// start, and uses that same object until its last byte: it is never served half by one config and half by another.
/// </summary>
/// <remarks>
/// Lifetime: a reference count, 1 for the <see cref="SnapshotHolder"/> plus one per request in flight. When a
/// reload retires it and the last request releases it, it releases its provider endpoints; an endpoint shared with
/// a newer snapshot (its settings did not change) lives on with that one.
/// </remarks>
internal sealed class GatewaySnapshot : IDisposable
{
    private int _references = 1;

    public GatewaySnapshot(
        GatewayConfig config, IReadOnlyList<ProviderEndpoint> providers, RouteTable routes, long revision, ResponseHooks.ResponsePipeline? responses = null,
        Spend.SpendLedger? ledger = null)
    {
        Ledger = ledger ?? new Spend.SpendLedger(TimeProvider.System);
        Prices = Spend.PriceTable.From(config.Pricing);
        Responses = responses ?? Gateway.Core.ResponseHooks.ResponsePipeline.Empty;
        Config = config;
        Providers = providers;
        Routes = routes;
        Revision = revision;
        MaxRequestBodyBytes = config.Server.MaxRequestBodyBytes;
        Keys = new Access.KeyTable(config.Auth);
        ForwardedRequestHeaders = Proxy.HeaderPolicy.ForwardedHeaders(config.Headers ?? HeaderRulesConfig.Default);
    }

    /// <summary>The prices of served models (the pricing section); null: costs are not computed.</summary>
    public Spend.PriceTable? Prices { get; }

    /// <summary>Spend per key and model: one ledger for the process, shared by every snapshot (a reload keeps it).</summary>
    public Spend.SpendLedger Ledger { get; }

    /// <summary>The gateway keys (auth section); open when there is none.</summary>
    public Access.KeyTable Keys { get; }

    /// <summary>Client headers forwarded to providers: the built-in allow-list with the config's header rules applied.</summary>
    public string[] ForwardedRequestHeaders { get; }

    public GatewayConfig Config { get; }

    /// <summary>Every enabled provider, in config order.</summary>
    public IReadOnlyList<ProviderEndpoint> Providers { get; }

    public RouteTable Routes { get; }

    public long Revision { get; }

    public long MaxRequestBodyBytes { get; }

    /// <summary>The response middleware this config asks for (none: responses cost nothing in that layer).</summary>
    public ResponseHooks.ResponsePipeline Responses { get; }

    /// <summary>Takes a reference for one request; false when the snapshot was already retired and released.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            int references = Volatile.Read(ref _references);
            if (references == 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _references, references + 1, references) == references)
            {
                return true;
            }
        }
    }

    /// <summary>Gives a reference back; the last one releases the providers.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            foreach (var provider in Providers)
            {
                provider.ReleaseOwner();
            }
        }
    }

    /// <summary>Retires the holder's reference (at shutdown, or when a reload replaced this snapshot).</summary>
    public void Dispose() => Release();
}
