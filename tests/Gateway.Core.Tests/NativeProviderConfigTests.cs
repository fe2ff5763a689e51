using Gateway.Core.Config;

namespace Gateway.Core.Tests;

/// <summary>The keys of the translating provider types: read, defaulted, and refused where they do not apply.</summary>
public sealed class NativeProviderConfigTests
{
    private static readonly EnvironmentExpander s_environment = new(name => name == "KEY" ? "k-123" : null);

    private static ConfigLoadResult Parse(string providers) => ConfigLoader.Parse("providers:\n" + providers, s_environment);

    private static List<string> Errors(string providers) => Parse(providers).Errors.Select(e => e.ToString()).ToList();

    [Fact]
    public void Each_types_keys_are_read_and_defaulted()
    {
        var config = Parse("""
              claude:
                type: anthropic
                base_url: https://api.anthropic.com/v1
                api_key: ${KEY}
                anthropic_version: "2023-06-01"
                beta: [prompt-caching-2024-07-31, output-128k-2025-02-19]
                default_max_tokens: 8192
                unsupported_params: drop
              gemini:
                type: gemini
                base_url: https://generativelanguage.googleapis.com/v1beta
                api_key: ${KEY}
              azure:
                type: azure
                base_url: https://res.openai.azure.com/openai
                api_key: ${KEY}
                api_version: "2024-10-21"
                deployments: { gpt-4o: my-gpt4o }
                azure_filter_results: true
              azurev1: { type: azure, base_url: "https://res.openai.azure.com/openai/v1", api_key: "${KEY}" }
            """).Config!;
        var claude = config.Providers.Single(p => p.Name == "claude").Options;
        Assert.Equal(["prompt-caching-2024-07-31", "output-128k-2025-02-19"], claude.Beta);
        Assert.Equal(8192, claude.DefaultMaxTokens);
        Assert.Equal(UnsupportedParams.Drop, claude.UnsupportedParams);
        var gemini = config.Providers.Single(p => p.Name == "gemini").Options;
        Assert.Equal(UnsupportedParams.Reject, gemini.UnsupportedParams);
        Assert.Equal(4096, gemini.DefaultMaxTokens);
        var azure = config.Providers.Single(p => p.Name == "azure").Options;
        Assert.Equal("2024-10-21", azure.ApiVersion);
        Assert.Equal("my-gpt4o", azure.DeploymentFor("gpt-4o"));
        Assert.Equal("gpt-4o-mini", azure.DeploymentFor("gpt-4o-mini"));
        Assert.True(azure.AzureFilterResults);
        Assert.Null(config.Providers.Single(p => p.Name == "azurev1").Options.ApiVersion);
        Assert.Equal(NativeOptions.DefaultAnthropicVersion, config.Providers.Single(p => p.Name == "gemini").Options.AnthropicVersion);
    }

    [Fact]
    public void Keys_of_another_type_missing_versions_and_keys_in_urls_are_errors_with_their_lines()
    {
        var errors = Errors("""
              openai:
                type: openai
                base_url: https://api.openai.com/v1
                beta: [x]
                api_version: "2024-10-21"
                unsupported_params: drop
              gemini:
                type: gemini
                base_url: https://generativelanguage.googleapis.com/v1beta?key=AIza123
              classic:
                type: azure
                base_url: https://res.openai.azure.com/openai
              v1:
                type: azure
                base_url: https://res.openai.azure.com/openai/v1
                api_version: "2024-10-21"
              claude:
                type: anthropic
                base_url: https://api.anthropic.com/v1
                default_max_tokens: 0
                unsupported_params: sometimes
                deployments: { a: b }
            """);
        Assert.Contains("line 5: providers.openai.beta: applies to type: anthropic only", errors);
        Assert.Contains("line 6: providers.openai.api_version: applies to type: azure only", errors);
        Assert.Contains("line 7: providers.openai.unsupported_params: applies to the translating types only (anthropic, gemini)", errors);
        Assert.Contains(errors, e => e.StartsWith("line 10: providers.gemini.base_url: must not carry a key (?key=...)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 13: providers.classic.api_version: required for the classic API", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 17: providers.v1.api_version: the v1 API (base_url ending in /openai/v1) takes no api_version", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 21: providers.claude.default_max_tokens: expected an integer from 1 to", StringComparison.Ordinal));
        Assert.Contains("line 22: providers.claude.unsupported_params: expected reject or drop, got 'sometimes'", errors);
        Assert.Contains("line 23: providers.claude.deployments: applies to type: azure only", errors);
    }

    [Fact]
    public void The_translation_state_cache_is_sized_by_config_and_defaults_otherwise()
    {
        var configured = ConfigLoader.Parse("""
            providers:
              claude: { type: anthropic, base_url: "https://api.anthropic.com/v1", api_key: "${KEY}" }
            translation: { state_cache_entries: 500, state_cache_ttl: 10m }
            """, s_environment).Config!;
        Assert.Equal(new TranslationConfig(500, TimeSpan.FromMinutes(10)), configured.Translation);
        Assert.Equal(TranslationConfig.Default, Parse("  claude: { type: anthropic, base_url: \"https://api.anthropic.com/v1\" }\n").Config!.Translation);

        var errors = ConfigLoader.Parse("""
            providers:
              claude: { type: anthropic, base_url: "https://api.anthropic.com/v1" }
            translation: { state_cache_entries: -1, keep: yes }
            """, s_environment).Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("line 3: translation.state_cache_entries: expected an integer from 0 to", StringComparison.Ordinal));
        Assert.Contains("line 3: translation.keep: unknown key", errors);
    }

    [Fact]
    public void The_state_cache_forgets_the_oldest_past_its_size_and_entries_past_their_time()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var cache = new Gateway.Core.Providers.Translation.SignatureCache(2, TimeSpan.FromMinutes(1), time);
        cache.Remember("a", "1");
        cache.Remember("b", "2");
        cache.Remember("c", "3");
        Assert.Null(cache.Find("a"));
        Assert.Equal("2", cache.Find("b"));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(cache.Find("c"));
        cache.Configure(1, TimeSpan.FromMinutes(1));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Aliases_name_a_provider_model_or_a_strategy_and_nothing_else()
    {
        var errors = ConfigLoader.Parse("""
            providers:
              local: { type: openai, base_url: "http://127.0.0.1:8081/v1" }
            strategies:
              smart: { targets: [local/m] }
            aliases:
              claude-sonnet-4-5: smart
              claude-haiku-4-5: local/qwen3-8b
              ghost: nowhere/m
              smart: local/m
              "a/b": local/m
            """, s_environment).Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("line 8: aliases.ghost: 'nowhere/m' is neither", StringComparison.Ordinal));
        Assert.Contains("line 9: aliases.smart: is already a strategy's name", errors);
        Assert.Contains("line 10: aliases.a/b: an alias is a bare model name (no '/')", errors);
    }
}
