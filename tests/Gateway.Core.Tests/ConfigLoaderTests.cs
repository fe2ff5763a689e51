using Gateway.Core.Config;

namespace Gateway.Core.Tests;

public sealed class ConfigLoaderTests
{
    private static readonly EnvironmentExpander s_environment = new(name => name switch
    {
        "OPENAI_API_KEY" => "sk-test\n",
        "EMPTY" => "",
        _ => null,
    });

    private static ConfigLoadResult Parse(string yaml) => ConfigLoader.Parse(yaml, s_environment);

    [Fact]
    public void ExampleConfig_IsValid()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "config.example.yaml");
        var result = ConfigLoader.LoadFile(path, s_environment);
        Assert.True(result.Errors.Count == 0, string.Join('\n', result.Errors));
        Assert.Contains(result.Config!.Providers, p => p.Name == "openai" && p.Enabled);
        Assert.Contains(result.Config.Providers, p => p.Name == "groq" && !p.Enabled);
    }

    [Fact]
    public void FullShape_IsParsed()
    {
        var config = Parse("""
            server:
              host: 0.0.0.0
              port: 9000
              max_request_body_bytes: 1048576
              drain_timeout: 500ms
              overload: { max_concurrent_requests: 2000, max_memory: 85% }
            providers:
              openai:
                type: openai
                base_url: https://api.openai.com/v1
                api_key: ${OPENAI_API_KEY}
                headers: { OpenAI-Organization: org-123 }
                timeout: 5m
                connect_timeout: 3s
                enabled: true
            strategies:
              smart: { targets: [openai/gpt-4o, openai/gpt-4o-mini] }
            """).Config!;

        Assert.Equal("0.0.0.0", config.Server.Host);
        Assert.Equal(9000, config.Server.Port);
        Assert.Equal(1048576, config.Server.MaxRequestBodyBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.Server.DrainTimeout);
        Assert.Equal(new OverloadConfig(2000, 0, 85), config.Server.Overload);
        var openai = Assert.Single(config.Providers);
        Assert.Equal("sk-test", openai.ApiKey!.Reveal());
        Assert.Equal("***", openai.ApiKey.ToString());
        Assert.Equal(TimeSpan.FromMinutes(5), openai.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(3), openai.ConnectTimeout);
        Assert.Equal("org-123", openai.Headers[0].Value.Reveal());
        Assert.Equal(["openai/gpt-4o", "openai/gpt-4o-mini"], config.Strategies[0].Targets.Select(t => t.ToString()));
    }

    [Fact]
    public void Defaults_AreApplied()
    {
        var config = Parse("""
            providers:
              local: { type: openai, base_url: "http://127.0.0.1:8081/v1" }
            """).Config!;

        Assert.Equal("127.0.0.1", config.Server.Host);
        Assert.Equal(8080, config.Server.Port);
        Assert.Equal(16 * 1024 * 1024, config.Server.MaxRequestBodyBytes);
        Assert.Equal(TimeSpan.FromSeconds(30), config.Server.DrainTimeout);
        Assert.Null(config.Providers[0].ApiKey);
        Assert.Equal(ProviderConfig.DefaultTimeout, config.Providers[0].Timeout);
    }

    [Fact]
    public void UnsetKeyVariable_DisablesProvider_NamingTheVariable()
    {
        var provider = Parse("""
            providers:
              groq:
                type: openai
                base_url: https://api.groq.com/openai/v1
                api_key: ${GROQ_API_KEY}
            """).Config!.Providers[0];

        Assert.False(provider.Enabled);
        Assert.Equal("api_key: environment variable GROQ_API_KEY is not set", provider.DisabledReason);
    }

    [Fact]
    public void DefaultValueSyntax_IsExpanded()
    {
        var provider = Parse("""
            providers:
              local:
                type: openai
                base_url: ${LOCAL_URL:-http://127.0.0.1:11434/v1}
                api_key: ${EMPTY:-fallback-key}
            """).Config!.Providers[0];

        Assert.Equal("http://127.0.0.1:11434/v1", provider.BaseUrl.ToString());
        Assert.Equal("fallback-key", provider.ApiKey!.Reveal());
    }

    [Fact]
    public void EnabledFalse_Disables()
    {
        var provider = Parse("""
            providers:
              local: { type: openai, base_url: "http://127.0.0.1:1/v1", enabled: false }
            """).Config!.Providers[0];

        Assert.False(provider.Enabled);
        Assert.Equal("enabled: false", provider.DisabledReason);
    }

    [Theory]
    [InlineData("85%", 0, 85)]
    [InlineData("100%", 0, 100)]
    [InlineData("1536MiB", 1536L << 20, 0)]
    [InlineData("2GiB", 2L << 30, 0)]
    [InlineData("640KiB", -1, -1)]
    [InlineData("0%", -1, -1)]
    [InlineData("2 GiB", -1, -1)]
    [InlineData("2GB", -1, -1)]
    [InlineData("-5MiB", -1, -1)]
    [InlineData("lots", -1, -1)]
    public void OverloadMaxMemory_IsAPercentageOrAnAmount(string value, long bytes, int percent)
    {
        var result = Parse($"server: {{ overload: {{ max_memory: \"{value}\" }} }}\nproviders: {{ local: {{ type: openai, base_url: \"http://127.0.0.1:8081/v1\" }} }}\n");

        if (bytes < 0)
        {
            Assert.Contains(result.Errors, e => e.ToString().StartsWith("line 1: server.overload.max_memory: expected a percentage", StringComparison.Ordinal));
        }
        else
        {
            Assert.Equal(new OverloadConfig(0, bytes, percent), result.Config!.Server.Overload);
        }
    }

    [Fact]
    public void EveryError_IsReported_WithKeyPathAndLine()
    {
        var result = Parse("""
            server:
              port: 70000
              drain_timeout: 30 seconds
              colour: blue
            providers:
              openai:
                type: cohere
                base_url: ftp://example.com
                timeout: -1s
              "bad/name": { type: openai, base_url: "http://x/v1" }
            strategies:
              smart: { targets: [nowhere/gpt-4o, openai] }
              empty: { targets: [] }
            extra: 1
            """);
        var overload = Parse("""
            server:
              overload: { max_concurrent_requests: -1, max_memory: 101%, queue: 5 }
            """).Errors.Select(e => e.ToString()).ToList();
        Assert.Contains("line 2: server.overload.max_concurrent_requests: expected an integer from 0 to 1000000, got '-1'", overload);
        Assert.Contains("line 2: server.overload.max_memory: expected a percentage (1% to 100%) or an amount such as 512MiB or 2GiB, got '101%'", overload);
        Assert.Contains("line 2: server.overload.queue: unknown key", overload);

        Assert.Null(result.Config);
        var errors = result.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains("line 2: server.port: expected an integer from 0 to 65535, got '70000'", errors);
        Assert.Contains("line 3: server.drain_timeout: expected a duration such as 500ms, 30s or 5m, got '30 seconds'", errors);
        Assert.Contains("line 4: server.colour: unknown key", errors);
        Assert.Contains("line 7: providers.openai.type: unsupported provider type 'cohere' (supported: openai, anthropic, gemini, azure)", errors);
        Assert.Contains("line 8: providers.openai.base_url: not an absolute http(s) URL", errors);
        Assert.Contains("line 9: providers.openai.timeout: expected a duration such as 500ms, 30s or 5m, got '-1s'", errors);
        Assert.Contains(errors, e => e.StartsWith("line 10: providers.bad/name: invalid provider name", StringComparison.Ordinal));
        Assert.Contains("line 12: strategies.smart.targets[0]: unknown provider 'nowhere'", errors);
        Assert.Contains("line 12: strategies.smart.targets[1]: 'openai' is not \"provider/model\"", errors);
        Assert.Contains(errors, e => e.StartsWith("line 13: strategies.empty.targets: required", StringComparison.Ordinal));
        Assert.Contains("line 14: extra: unknown key", errors);
    }

    [Fact]
    public void Strategies_AndResilienceKeys_AreParsed()
    {
        var config = Parse("""
            providers:
              openai:
                type: openai
                base_url: "https://api.openai.com/v1"
                timeout: 30s
                first_token_timeout: 15s
                stream_idle_timeout: 20s
                keepalive_interval: 5s
                retries: 2
                max_retry_wait: 3s
                circuit: { failure_threshold: 4, cooldown: 45s }
                prefill: vllm
              azure: { type: openai, base_url: "https://azure.example/v1" }
            strategies:
              smart:
                targets: [openai/gpt-4o, azure/gpt-4o]
                fallback_on: [connect, timeout, 429, 5xx, 404, context_length_exceeded]
                rate_limited: wait
                on_interrupt: continue
                deadline: 90s
              spread:
                mode: loadbalance
                targets:
                  - { target: openai/gpt-4o, weight: 3 }
                  - azure/gpt-4o
            """).Config!;

        var resilience = config.Providers[0].Resilience;
        Assert.Equal(new ProviderResilience(
            TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(5), 2, TimeSpan.FromSeconds(3), 4, TimeSpan.FromSeconds(45), PrefillMode.Vllm), resilience);
        // Without first_token_timeout, the header timeout is the default (a JSON answer's first bytes come with its headers).
        Assert.Equal(ProviderConfig.DefaultTimeout, config.Providers[1].Resilience.FirstTokenTimeout);
        var smart = config.Strategies[0];
        Assert.Equal(StrategyMode.Fallback, smart.Mode);
        Assert.Equal(FailureClasses.Connect | FailureClasses.Timeout | FailureClasses.RateLimited | FailureClasses.ServerError, smart.FallbackOn.Classes);
        Assert.Equal([404], smart.FallbackOn.Statuses);
        Assert.Equal(["context_length_exceeded"], smart.FallbackOn.ErrorCodes);
        Assert.Equal(RateLimitedPolicy.Wait, smart.RateLimited);
        Assert.Equal(InterruptPolicy.Continue, smart.OnInterrupt);
        Assert.Equal(TimeSpan.FromSeconds(90), smart.Deadline);
        var spread = config.Strategies[1];
        Assert.Equal(StrategyMode.LoadBalance, spread.Mode);
        Assert.Equal([3, 1], spread.Targets.Select(t => t.Weight));
        Assert.Equal(FallbackPolicy.Default, spread.FallbackOn);
        Assert.Equal(StrategyConfig.DefaultDeadline, spread.Deadline);
    }

    [Fact]
    public void InvalidStrategyAndResilienceValues_AreReportedByKeyPath()
    {
        var result = Parse("""
            providers:
              openai: { type: openai, base_url: "https://api.openai.com/v1", retries: -1, prefill: maybe, circuit: { cooldown: 0s, trip: 3 } }
            strategies:
              smart:
                mode: roundrobin
                targets: [openai/gpt-4o, nowhere/x, { target: openai/gpt-4o, weight: 0 }]
                fallback_on: [connect, 200, sometimes!]
                rate_limited: later
                on_interrupt: retry
                deadline: forever
              empty: { targets: [] }
            """);

        var errors = result.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains("line 2: providers.openai.retries: expected an integer from 0 to 10, got '-1'", errors);
        Assert.Contains("line 2: providers.openai.prefill: expected false, true (or assistant) or vllm, got 'maybe'", errors);
        Assert.Contains("line 2: providers.openai.circuit.cooldown: must be between 1ms and 86400s", errors);
        Assert.Contains("line 2: providers.openai.circuit.trip: unknown key", errors);
        Assert.Contains("line 5: strategies.smart.mode: unsupported mode 'roundrobin' (supported: fallback, loadbalance)", errors);
        Assert.Contains("line 6: strategies.smart.targets[1]: unknown provider 'nowhere'", errors);
        Assert.Contains("line 6: strategies.smart.targets[2].weight: expected an integer from 1 to 1000000, got '0'", errors);
        Assert.Contains("line 7: strategies.smart.fallback_on[1]: status 200 is not an error status (400-599)", errors);
        Assert.Contains(errors, e => e.StartsWith("line 7: strategies.smart.fallback_on[2]: expected connect, timeout, 429, 5xx", StringComparison.Ordinal));
        Assert.Contains("line 8: strategies.smart.rate_limited: expected failover or wait, got 'later'", errors);
        Assert.Contains("line 9: strategies.smart.on_interrupt: expected error or continue, got 'retry'", errors);
        Assert.Contains("line 10: strategies.smart.deadline: expected a duration such as 500ms, 30s or 5m, got 'forever'", errors);
        Assert.Contains(errors, e => e.StartsWith("line 11: strategies.empty.targets: required: a non-empty list", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingVariable_OutsideCredentials_IsAnError()
    {
        var result = Parse("""
            providers:
              local: { type: openai, base_url: "${NOT_SET}" }
            """);

        Assert.Contains("line 2: providers.local.base_url: environment variable NOT_SET is not set", result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void CredentialsInBaseUrl_AreRejected()
    {
        var result = Parse("""
            providers:
              local: { type: openai, base_url: "https://user:secret@example.com/v1" }
            """);

        var error = Assert.Single(result.Errors);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedYaml_ReportsLine()
    {
        var error = Assert.Single(Parse("server:\n  port: 1\n bad: [\nproviders: {}\n").Errors);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void UnterminatedFlowSequence_IsAnError_NotACrash()
    {
        Assert.Single(Parse("server:\n  port: [1, 2\nproviders: {}\n").Errors);
    }

    [Fact]
    public void NoProviders_IsAnError()
    {
        Assert.Contains(Parse("server: { port: 1 }").Errors, e => e.Path == "providers");
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    public void Durations_Parse(string text, int milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("s")]
    [InlineData("1.5s")]
    [InlineData("10d")]
    [InlineData("-5s")]
    public void Durations_RejectOtherForms(string text) => Assert.False(Durations.TryParse(text, out _));
}

public sealed class ConfigIdentityTests
{
    private static readonly EnvironmentExpander s_environment = new(name => name switch
    {
        "KEY" => "sk-one-1234567890",
        "ES_KEY" => "es-key-1234567890",
        _ => null,
    });

    [Fact]
    public void NamesThatDifferOnlyInCase_AreAConfigError_NamingBothKeysAndLines()
    {
        var result = ConfigLoader.Parse("""
            providers:
              openai: { type: openai, base_url: "https://a.example/v1" }
              OpenAI: { type: openai, base_url: "https://b.example/v1" }
            strategies:
              smart: { targets: [openai/m] }
              Smart: { targets: [openai/m] }
            """, s_environment);

        Assert.Null(result.Config);
        Assert.Contains(result.Errors, e => e.Line == 3 && e.Path == "providers.OpenAI"
            && e.Message.Contains("'OpenAI' (line 3) and 'openai' (line 2)", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Line == 6 && e.Path == "strategies.Smart"
            && e.Message.Contains("'Smart' (line 6) and 'smart' (line 5)", StringComparison.Ordinal));
    }

    private const string Full = """
        providers:
          openai: { type: openai, base_url: "https://a.example/v1?api-version=1", api_key: "${KEY}", headers: { X-Org: org-123 }, models: [m1], prefill: vllm }
        strategies:
          smart: { targets: [openai/m, { target: openai/n, weight: 2 }], fallback_on: [connect, 404, context_length_exceeded] }
        auth:
          keys:
            - { name: team-a, key: "${KEY}", models: ["openai/*"], rpm: 10 }
        headers: { drop_from_client: [user-agent], forward_from_client: [x-tenant] }
        redact: { patterns: ['\d{3}'], models: ["openai/*"] }
        completion_log:
          sink: elasticsearch
          elasticsearch: { url: "http://127.0.0.1:9200", api_key: "${ES_KEY}" }
        """;

    [Fact]
    public void TheSameFileParsedTwice_IsEqualByValue_SecretsIncluded()
    {
        var first = ConfigLoader.Parse(Full, s_environment).Config!;
        var second = ConfigLoader.Parse(Full, s_environment).Config!;

        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.Equal(first.Providers[0], second.Providers[0]);
        Assert.Equal(first.CompletionLog, second.CompletionLog);
        Assert.Equal(first.Redact, second.Redact);
    }

    [Theory]
    [InlineData("sk-one-1234567890", "sk-two-1234567890")]
    [InlineData("org-123", "org-124")]
    [InlineData("api-version=1", "api-version=2")]
    [InlineData("weight: 2", "weight: 3")]
    [InlineData("context_length_exceeded", "other_code")]
    [InlineData("prefill: vllm", "prefill: true")]
    [InlineData("models: [m1]", "models: [m2]")]
    [InlineData("['\\d{3}']", "['\\d{4}']")]
    [InlineData("es-key-1234567890", "es-key-0000000000")]
    public void AnyChangedSetting_MakesTheConfigsDiffer(string before, string after)
    {
        var environment = new EnvironmentExpander(name => name switch
        {
            "KEY" => "sk-one-1234567890",
            "ES_KEY" => "es-key-1234567890",
            _ => null,
        });
        var changedEnvironment = new EnvironmentExpander(name => name switch
        {
            "KEY" => "sk-one-1234567890".Replace(before, after, StringComparison.Ordinal),
            "ES_KEY" => "es-key-1234567890".Replace(before, after, StringComparison.Ordinal),
            _ => null,
        });
        var first = ConfigLoader.Parse(Full, environment).Config!;
        var second = ConfigLoader.Parse(Full.Replace(before, after, StringComparison.Ordinal), changedEnvironment).Config!;

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Secrets_CompareByValue()
    {
        Assert.Equal(new Secret("abc-123-xyz"), new Secret("abc-123-xyz"));
        Assert.NotEqual(new Secret("abc-123-xyz"), new Secret("abc-123-xyZ"));
        Assert.Equal("***", new Secret("abc-123-xyz").ToString());
    }
}

public sealed class ModelPrefillConfigTests
{
    [Fact]
    public void ModelPrefill_OverridesTheProvidersPrefill_FirstMatchingGlobWins()
    {
        var config = ConfigLoader.Parse("""
            providers:
              anthropic: { type: openai, base_url: "https://a.example/v1", prefill: true, model_prefill: { "claude-sonnet-4-6*": false, "claude-*": vllm } }
            """, new EnvironmentExpander(_ => null)).Config!;
        var resilience = config.Providers[0].Resilience;

        Assert.Equal(PrefillMode.None, resilience.PrefillFor("claude-sonnet-4-6"));
        Assert.Equal(PrefillMode.None, resilience.PrefillFor("claude-sonnet-4-6-20260101"));
        Assert.Equal(PrefillMode.Vllm, resilience.PrefillFor("claude-3-7-sonnet"));
        Assert.Equal(PrefillMode.Assistant, resilience.PrefillFor("gpt-4o"));
    }

    [Fact]
    public void ModelPrefill_WithAnUnknownValue_IsAnError()
    {
        var result = ConfigLoader.Parse("""
            providers:
              anthropic: { type: openai, base_url: "https://a.example/v1", model_prefill: { "claude-*": maybe } }
            """, new EnvironmentExpander(_ => null));

        Assert.Contains("line 2: providers.anthropic.model_prefill.claude-*: expected false, true (or assistant) or vllm, got 'maybe'", result.Errors.Select(e => e.ToString()));
    }
}
