namespace Gateway.Core.Config;

/// <summary>One validated revision of config.yaml. Immutable; the snapshot builder turns it into runtime state.</summary>
public sealed record GatewayConfig(
    ServerConfig Server,
    IReadOnlyList<ProviderConfig> Providers,
    IReadOnlyList<StrategyConfig> Strategies);

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
    string? DisabledReason)
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
