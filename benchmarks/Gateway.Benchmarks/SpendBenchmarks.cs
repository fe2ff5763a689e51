using BenchmarkDotNet.Attributes;
using Gateway.Core.Config;
using Gateway.Core.ResponseHooks;
using Gateway.Core.Spend;

namespace Gateway.Benchmarks;

/// <summary>
/// What pricing adds per answer once its usage is known: the usage object parsed (the baseline: the gateway reads it
/// for metrics and tpm anyway), then the price looked up, the cost computed in decimal and charged to the key's budget
/// and the model's totals. Both must allocate nothing; the difference is pricing's CPU per request.
/// </summary>
[MemoryDiagnoser]
public class SpendBenchmarks
{
    private static readonly byte[] s_usage = """
        {"prompt_tokens":1200,"completion_tokens":350,"total_tokens":1550,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":128}}
        """u8.ToArray();

    private readonly PriceTable _prices = new(
        [new PriceEntry("openai/gpt-4o*", new ModelPrice(2.50m, 10.00m, 1.25m)), new PriceEntry("openai/gpt-4o-mini*", new ModelPrice(0.15m, 0.60m, 0.075m)),
            new PriceEntry("anthropic/*", new ModelPrice(3m, 15m, CacheRead: 0.3m, CacheWrite: 3.75m))],
        [new PriceEntry("openai/*", new ModelPrice(1m, 1m))]);

    private readonly SpendLedger _ledger = new(TimeProvider.System);
    private readonly BudgetConfig _budget = new(50m, BudgetPeriod.Day);
    private decimal? _cost;

    [GlobalSetup]
    public void Setup() => UsageAndCost();

    [Benchmark(Baseline = true)]
    public long UsageOnly() => UsageParser.ParseUsageObject(s_usage)!.Value.TotalTokens;

    [Benchmark]
    public long UsageAndCost()
    {
        var usage = UsageParser.ParseUsageObject(s_usage)!.Value;
        var price = _prices.Find("openai/gpt-4o-2024-08-06");
        _cost = price is null ? null : CostCalculator.Of(price, usage);
        _ledger.Charge("team-a", _budget, "openai/gpt-4o-2024-08-06", _cost);
        return usage.TotalTokens;
    }
}
