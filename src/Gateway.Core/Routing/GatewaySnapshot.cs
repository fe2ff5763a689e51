using Gateway.Core.Config;
using Gateway.Core.Providers;

namespace Gateway.Core.Routing;

/// <summary>
/// Everything derived from one config revision, immutable. A request reads the current snapshot once, at its
/// start, and uses that same object until its last byte: it is never served half by one config and half by another.
/// </summary>
public sealed class GatewaySnapshot : IDisposable
{
    public GatewaySnapshot(GatewayConfig config, IReadOnlyList<ProviderEndpoint> providers, RouteTable routes, long revision)
    {
        Config = config;
        Providers = providers;
        Routes = routes;
        Revision = revision;
        MaxRequestBodyBytes = config.Server.MaxRequestBodyBytes;
        Keys = new Access.KeyTable(config.Auth);
        ForwardedRequestHeaders = Proxy.HeaderPolicy.ForwardedHeaders(config.Headers ?? HeaderRulesConfig.Default);
    }

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

    public void Dispose()
    {
        foreach (var provider in Providers)
        {
            provider.Dispose();
        }
    }
}
