using BenchmarkDotNet.Attributes;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Resilience;
using Gateway.Core.Routing;

namespace Gateway.Benchmarks;

/// <summary>What a config reload costs: building the snapshot (frozen route table, provider clients) for N routes.</summary>
public class SnapshotBuildBenchmarks
{
    private readonly SnapshotBuilder _builder = new(new ProviderClientFactory(), new ProviderHealthRegistry(TimeProvider.System));
    private GatewayConfig _config = null!;

    [Params(10, 1000, 10000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var providers = Enumerable.Range(0, Routes).Select(i => new ProviderConfig(
            $"provider-{i}", "openai", new Uri($"http://10.0.{i / 250}.{i % 250}:8000/v1"), new Secret($"sk-{i}"), [],
            ProviderConfig.DefaultTimeout, ProviderConfig.DefaultConnectTimeout, Enabled: i % 10 != 0, DisabledReason: i % 10 == 0 ? "enabled: false" : null, Models: [], DiscoverModels: true, ProviderResilience.Default)).ToList();
        var strategies = Enumerable.Range(0, Routes / 10).Select(i => new StrategyConfig(
            $"strategy-{i}", StrategyMode.Fallback, [new StrategyTarget($"provider-{i * 10 + 1}", "gpt-4o"), new StrategyTarget($"provider-{i * 10 + 2}", "gpt-4o")],
            FallbackPolicy.Default, RateLimitedPolicy.Failover, InterruptPolicy.Error, StrategyConfig.DefaultDeadline)).ToList();
        _config = new GatewayConfig(new ServerConfig("127.0.0.1", 8080, ServerConfig.DefaultMaxRequestBodyBytes, ServerConfig.DefaultDrainTimeout, null), providers, strategies, ModelsConfig.Default, RoutingConfig.Default);
    }

    [Benchmark]
    public long Build()
    {
        using var snapshot = _builder.Build(_config);
        return snapshot.Revision;
    }
}
