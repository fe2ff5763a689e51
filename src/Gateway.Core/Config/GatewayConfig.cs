namespace Gateway.Core.Config;

/// <summary>One validated revision of config.yaml. Immutable; the snapshot builder turns it into runtime state.</summary>
public sealed record GatewayConfig(
    ServerConfig Server,
    IReadOnlyList<ProviderConfig> Providers,
    IReadOnlyList<StrategyConfig> Strategies,
    ModelsConfig Models,
    RoutingConfig Routing);

/// <summary>The background discovery of each provider's models, behind GET /v1/models.</summary>
public sealed record ModelsConfig(TimeSpan RefreshInterval, TimeSpan FetchTimeout)
{
    public static readonly ModelsConfig Default = new(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10));
}

/// <param name="RequireKnownModel">When true, "provider/model" must be in the model list (404 before any upstream call).</param>
public sealed record RoutingConfig(bool RequireKnownModel)
{
    public static readonly RoutingConfig Default = new(false);
}

public sealed record ServerConfig(
    string Host,
    int Port,
    long MaxRequestBodyBytes,
    TimeSpan DrainTimeout,
    TlsConfig? Tls)
{
    public const long DefaultMaxRequestBodyBytes = 16 * 1024 * 1024;
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(30);
}

public sealed record TlsConfig(string CertificatePath, string KeyPath);

/// <summary>An upstream, OpenAI-compatible API. <see cref="Name"/> is the routing prefix in "name/model".</summary>
public sealed record ProviderConfig(
    string Name,
    string Type,
    Uri BaseUrl,
    Secret? ApiKey,
    IReadOnlyList<KeyValuePair<string, Secret>> Headers,
    TimeSpan Timeout,
    TimeSpan ConnectTimeout,
    bool Enabled,
    string? DisabledReason,
    IReadOnlyList<string> Models,
    bool DiscoverModels)
{
    // A non-streaming generation only returns headers once it has finished: minutes, not seconds.
    // 600 s is the official OpenAI SDKs' own default request timeout.
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(600);
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);
}

/// <summary>A named chain of targets a client can ask for by name ("model": "smart").</summary>
public sealed record StrategyConfig(string Name, IReadOnlyList<StrategyTarget> Targets);

public sealed record StrategyTarget(string Provider, string Model)
{
    public override string ToString() => Provider + "/" + Model;
}
