using System.Net.Http.Headers;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>
/// N gateway replicas (separate processes) on one config file, sharing state through one redis-server; requests go
/// round-robin over them, as a load balancer would send them.
/// </summary>
internal sealed class Replicas : IAsyncDisposable
{
    public const string ClientKey = "gw-scaleout-client-key-4d21";
    public const string ProviderKey = "sk-scaleout-provider-key-9e7b";
    public const string AdminKey = "scaleout-admin-key-5f0c1a2b";

    private readonly string _configPath;
    private int _next;

    private Replicas(string configPath, List<GatewayProcess> gateways)
    {
        _configPath = configPath;
        Gateways = gateways;
    }

    public List<GatewayProcess> Gateways { get; }

    /// <param name="extra">YAML after the providers: auth keys with limits, pricing, strategies.</param>
    /// <param name="shared">Wait until every replica shares its limits through Redis (false: Redis is not there yet).</param>
    /// <param name="providers">The providers block's entries (default: one provider "mock" at <paramref name="mock"/>).</param>
    public static async Task<Replicas> StartAsync(
        int count, string redisUrl, Uri mock, string extra, string stateOptions = "", bool shared = true, string? providers = null)
    {
        providers ??= $$"""  mock: { type: openai, base_url: {{mock}}, api_key: "${PROVIDER_KEY}", discover_models: false, retries: 0, timeout: 10s }""";
        var path = Path.Combine(Path.GetTempPath(), $"gateway-replicas-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, $$"""
            server: { host: 127.0.0.1, port: 0, drain_timeout: 2s }
            providers:
            {{providers}}
            state: { backend: redis, url: "{{redisUrl}}", flush_interval: 50ms{{stateOptions}} }
            admin: { key: "${ADMIN_KEY}" }
            telemetry: { metrics: true }
            {{extra}}
            """);
        var environment = new Dictionary<string, string> { ["PROVIDER_KEY"] = ProviderKey, ["CLIENT_KEY"] = ClientKey, ["ADMIN_KEY"] = AdminKey };
        var gateways = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => GatewayProcess.StartAsync(path, environment)));
        var replicas = new Replicas(path, [.. gateways]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (shared && await replicas.SharedCountAsync() < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                await replicas.DisposeAsync();
                throw new InvalidOperationException("the replicas did not reach Redis");
            }
            await Task.Delay(50);
        }
        return replicas;
    }

    /// <summary>How many replicas report gateway_state_backend_up 1 (limits shared through Redis).</summary>
    public async Task<int> SharedCountAsync()
    {
        int up = 0;
        foreach (var gateway in Gateways)
        {
            var metrics = await gateway.Client.GetStringAsync("/metrics");
            up += metrics.Split('\n').Any(l => l.StartsWith("gateway_state_backend_up", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal)) ? 1 : 0;
        }
        return up;
    }

    /// <summary>
    /// Polls a condition every 25 ms until it holds: the state it reads lives in other processes (Redis, the replicas'
    /// metrics), so there is no signal to wait on.
    /// </summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(25);
        }
    }

    /// <summary>A metric's value on one replica (the first series whose line starts with <paramref name="series"/>); 0 when absent.</summary>
    public static async Task<double> MetricAsync(GatewayProcess gateway, string series)
    {
        var line = (await gateway.Client.GetStringAsync("/metrics")).Split('\n').FirstOrDefault(l => l.StartsWith(series, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The next replica, round-robin.</summary>
    public GatewayProcess Next() => Gateways[(int)((uint)Interlocked.Increment(ref _next) % Gateways.Count)];

    public static HttpRequestMessage Chat(string body) => new(HttpMethod.Post, "/v1/chat/completions")
    {
        Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", ClientKey) },
    };

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Gateways.Select(g => g.DisposeAsync().AsTask()));
        File.Delete(_configPath);
    }
}
