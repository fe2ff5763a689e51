using Gateway.Core.Config;
using Gateway.Core.ResponseHooks;
using Gateway.Core.Spend;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Core.Tests;

/// <summary>The pure parts of spend: cost per billing shape, price precedence, budget windows, the ledger's periods, the config.</summary>
public sealed class SpendTests
{
    private static readonly ModelPrice s_openAi = new(Input: 2.50m, Output: 10.00m, CachedInput: 1.25m);
    private static readonly ModelPrice s_anthropic = new(Input: 3.00m, Output: 15.00m, CacheRead: 0.30m, CacheWrite: 3.75m);

    private static readonly Dictionary<string, (ModelPrice Price, TokenUsage Usage, decimal Cost)> s_costs = new()
    {
        ["plain"] = (s_openAi, new TokenUsage(1000, 500, 1500), 0.0075m),
        ["cached input"] = (s_openAi, new TokenUsage(1000, 500, 1500, CachedTokens: 400), 0.007m),
        ["cached, no cached price: input"] = (s_openAi with { CachedInput = null }, new TokenUsage(1000, 500, 1500, CachedTokens: 400), 0.0075m),
        ["cached over prompt is clamped"] = (s_openAi, new TokenUsage(100, 0, 100, CachedTokens: 400), 0.000125m),
        ["reasoning is part of completion"] = (s_openAi, new TokenUsage(10, 2000, 2010, ReasoningTokens: 1800), 0.020025m),
        ["anthropic read and write"] = (s_anthropic, new TokenUsage(125, 50, 175, CachedTokens: 100, CacheReadTokens: 100, CacheWriteTokens: 20), 0.00087m),
        ["anthropic, no cache prices: input"] = (s_anthropic with { CacheRead = null, CacheWrite = null }, new TokenUsage(125, 50, 175, CacheReadTokens: 100, CacheWriteTokens: 20), 0.001125m),
        ["anthropic, cache_read falls back to cached_input"] = (new ModelPrice(3m, 15m, CachedInput: 0.5m), new TokenUsage(100, 0, 100, CacheReadTokens: 100), 0.00005m),
        ["free"] = (new ModelPrice(0, 0), new TokenUsage(123456, 654321, 777777), 0m),
        ["rounded to 10 decimals"] = (new ModelPrice(0.000001m, 0), new TokenUsage(1, 0, 1), 0m),
        ["one token at a tenth of a cent per million"] = (new ModelPrice(0.1m, 0), new TokenUsage(1, 0, 1), 0.0000001m),
    };

    public static TheoryData<string> Costs() => [.. s_costs.Keys];

    [Theory]
    [MemberData(nameof(Costs))]
    public void Cost_of_each_billing_shape(string shape)
    {
        var (price, usage, expected) = s_costs[shape];
        Assert.Equal(expected, CostCalculator.Of(price, usage));
    }

    [Theory]
    [InlineData(0.0075, "0.0075")]
    [InlineData(12, "12")]
    [InlineData(0.0000000001, "0.0000000001")]
    [InlineData(1234.5, "1234.5")]
    public void Cost_is_written_as_a_plain_json_number(double usd, string expected)
    {
        Assert.Equal(expected, CostCalculator.Format((decimal)usd));
        Span<byte> utf8 = stackalloc byte[32];
        Assert.True(CostCalculator.TryFormat((decimal)usd, utf8, out int written));
        Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(utf8[..written]));
    }

    [Theory]
    [InlineData("openai/gpt-4o", "exact")]
    [InlineData("openai/gpt-4o-mini-2024", "mini")]
    [InlineData("openai/gpt-4o-2024-08-06", "4o")]
    [InlineData("openai/o3", "openai")]
    [InlineData("local/llama", "config-local")]
    [InlineData("gemini/gemini-2.5-pro", "file-gemini")]
    [InlineData("other/x", null)]
    public void The_most_specific_price_wins_and_the_config_overrides_the_file(string model, string? expected)
    {
        var configured = new[]
        {
            Entry("openai/*", 1), Entry("openai/gpt-4o*", 2), Entry("openai/gpt-4o-mini*", 3), Entry("openai/gpt-4o", 4), Entry("local/*", 5),
        };
        var bundled = new[] { Entry("local/*", 6), Entry("gemini/*", 7) };
        var table = new PriceTable(configured, bundled);
        var names = new Dictionary<decimal, string>
        {
            [1] = "openai",
            [2] = "4o",
            [3] = "mini",
            [4] = "exact",
            [5] = "config-local",
            [6] = "file-local",
            [7] = "file-gemini",
        };

        var price = table.Find(model);

        Assert.Equal(expected, price is null ? null : names[price.Input]);
        Assert.Same(price, table.Find(model));
    }

    [Fact]
    public void Equally_specific_globs_go_by_order()
    {
        var table = new PriceTable([Entry("openai/gpt-*", 1), Entry("openai/*-4o", 2)], []);
        Assert.Equal(1, table.Find("openai/gpt-4o")!.Input);
    }

    private static PriceEntry Entry(string glob, decimal input) => new(glob, new ModelPrice(input, 0));

    [Theory]
    [InlineData("1h", "2026-12-07T14:35:10Z", "2026-12-07T14:00:00Z", "2026-12-07T15:00:00Z")]
    [InlineData("1d", "2026-12-07T23:59:59Z", "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z")]
    [InlineData("1d", "2026-12-08T00:00:00Z", "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z")]
    [InlineData("1d", "2026-12-08T01:00:00+02:00", "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z")]
    [InlineData("7d", "2026-12-07T10:00:00Z", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z")] // a Monday
    [InlineData("7d", "2026-12-13T23:00:00Z", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z")] // the Sunday after
    [InlineData("30d", "1970-01-30T23:00:00Z", "1970-01-01T00:00:00Z", "1970-01-31T00:00:00Z")]
    [InlineData("30d", "2026-12-07T10:00:00Z", "2026-12-03T00:00:00Z", "2027-01-02T00:00:00Z")] // day 20794 of the epoch, 20790 = 693 × 30
    [InlineData("month", "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    [InlineData("month", "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z")]
    public void Budget_windows_are_fixed_in_utc(string name, string now, string start, string end)
    {
        var period = Enum.GetValues<BudgetPeriod>().Single(p => BudgetWindow.Name(p) == name);
        var (from, to) = BudgetWindow.Of(period, DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), from);
        Assert.Equal(DateTimeOffset.Parse(end, System.Globalization.CultureInfo.InvariantCulture), to);
    }

    [Fact]
    public void The_ledger_refuses_at_the_budget_and_starts_each_period_from_zero()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 23, 0, 0, TimeSpan.Zero));
        var ledger = new SpendLedger(time);
        var budget = new BudgetConfig(1.00m, BudgetPeriod.Day);

        ledger.Charge("team", budget, "openai/gpt-4o", 0.60m);
        Assert.False(ledger.IsExhausted("team", budget, out _));
        ledger.Charge("team", budget, "openai/gpt-4o", 0.40m);
        Assert.True(ledger.IsExhausted("team", budget, out var resets));
        Assert.Equal(new DateTimeOffset(2026, 12, 8, 0, 0, 0, TimeSpan.Zero), resets);
        ledger.Charge("team", budget, "openai/unpriced", null);
        Assert.Equal(1.00m, ledger.Spent("team", BudgetPeriod.Day));

        time.Advance(TimeSpan.FromHours(1));
        Assert.False(ledger.IsExhausted("team", budget, out _));
        Assert.Equal(0m, ledger.Spent("team", BudgetPeriod.Day));
        Assert.Contains(ledger.Models(), m => m == ("openai/gpt-4o", 2, 1.00m, 0));
        Assert.Contains(ledger.Models(), m => m == ("openai/unpriced", 1, 0m, 1));
    }

    private static ConfigLoadResult Parse(string extra, string? directory = null) => ConfigLoader.Parse(
        "providers:\n  openai: { type: openai, base_url: \"http://127.0.0.1:1/v1\" }\n" + extra, new EnvironmentExpander(_ => null), directory);

    [Fact]
    public void Pricing_and_budgets_are_read_with_the_file_under_the_config()
    {
        var dir = Directory.CreateTempSubdirectory("gateway-pricing-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "prices.yaml"), "date: \"2026-12-01\"\nmodels:\n  \"openai/*\": { input: 1, output: 2 }\n");
            var result = Parse("""
                pricing:
                  file: prices.yaml
                  models:
                    "openai/gpt-4o*": { input: 2.50, cached_input: 1.25, output: 10 }
                auth: { keys: [ { name: team, key: "team-key-123456", budget: { usd: 50, period: month } } ] }
                """, dir);

            Assert.True(result.Errors.Count == 0, string.Join('\n', result.Errors));
            var pricing = result.Config!.Pricing!;
            Assert.Equal(new PriceEntry("openai/gpt-4o*", new ModelPrice(2.50m, 10m, 1.25m)), Assert.Single(pricing.Models));
            Assert.Equal(new PriceEntry("openai/*", new ModelPrice(1m, 2m)), Assert.Single(pricing.FileModels));
            Assert.Equal("2026-12-01", pricing.FileDate);
            Assert.Equal(new BudgetConfig(50m, BudgetPeriod.Month), result.Config.Auth!.Keys[0].Budget);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("pricing: { models: { \"openai/x\": { output: 1 } } }", "pricing.models.openai/x.input: required")]
    [InlineData("pricing: { models: { \"openai/x\": { input: -1, output: 1 } } }", "pricing.models.openai/x.input: expected a number")]
    [InlineData("pricing: { models: { \"openai/x\": { input: 1e3, output: 1 } } }", "pricing.models.openai/x.input: expected a number")]
    [InlineData("pricing: { models: { \"gpt-4o\": { input: 1, output: 1 } } }", "pricing.models.gpt-4o: expected a \"provider/model\" glob")]
    [InlineData("pricing: { models: { \"openai/x\": { input: 1, output: 1, cached: 1 } } }", "pricing.models.openai/x.cached: unknown key")]
    [InlineData("pricing: { file: missing-prices.yaml }", "pricing.file: cannot read 'missing-prices.yaml'")]
    [InlineData("auth: { keys: [ { name: t, key: \"team-key-123456\", budget: { usd: 5, period: 1d } } ] }", "auth.keys.t.budget: a budget needs a pricing section")]
    [InlineData("pricing: {}\nauth: { keys: [ { name: t, key: \"team-key-123456\", budget: { usd: 5, period: 2d } } ] }", "'2d' is not a period")]
    [InlineData("pricing: {}\nauth: { keys: [ { name: t, key: \"team-key-123456\", budget: { period: 1d } } ] }", "budget.usd: required")]
    public void Bad_pricing_and_budgets_are_errors_with_their_path(string yaml, string expected)
    {
        var result = Parse(yaml + "\n");
        Assert.Null(result.Config);
        Assert.Contains(result.Errors, e => e.ToString().Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void The_bundled_price_file_is_valid_and_dated()
    {
        var result = Parse("pricing: { file: resources/pricing.yaml }\n", AppContext.BaseDirectory);
        Assert.True(result.Errors.Count == 0, string.Join('\n', result.Errors));
        var pricing = result.Config!.Pricing!;
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", pricing.FileDate);
        var table = PriceTable.From(pricing)!;
        Assert.Equal(2.50m, table.Find("openai/gpt-4o-2024-08-06")!.Input);
        Assert.Equal(0.15m, table.Find("openai/gpt-4o-mini")!.Input);
        Assert.Equal(0.30m, table.Find("anthropic/claude-sonnet-4-5-20250929")!.CacheRead);
        Assert.NotNull(table.Find("gemini/gemini-2.5-flash"));
    }

    [Theory]
    [InlineData("""{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":3}}""", 10, 5, 4, 3, -1, 0)]
    [InlineData("""{"prompt_tokens":125,"completion_tokens":50,"total_tokens":175,"prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":0},"cache_creation_input_tokens":20,"cache_read_input_tokens":100}""", 125, 50, 100, 0, 100, 20)]
    [InlineData("""{"prompt_tokens":7,"completion_tokens":1,"prompt_tokens_details":null}""", 7, 1, 0, 0, -1, 0)]
    public void Usage_keeps_the_token_kinds_billed_apart(string json, long prompt, long completion, long cached, long reasoning, long cacheRead, long cacheWrite)
    {
        var usage = UsageParser.ParseUsageObject(System.Text.Encoding.UTF8.GetBytes(json))!.Value;
        Assert.Equal((prompt, completion, cached, reasoning, cacheRead, cacheWrite),
            (usage.PromptTokens, usage.CompletionTokens, usage.CachedTokens, usage.ReasoningTokens, usage.CacheReadTokens, usage.CacheWriteTokens));
    }
}
