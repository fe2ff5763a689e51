using YamlDotNet.RepresentationModel;
using static Gateway.Core.Config.ConfigChecks;

namespace Gateway.Core.Config.Sections;

/// <summary>providers (each with its resilience and prefill settings), and the model list and routing rules built from them.</summary>
internal static class ProvidersSection
{
    private const string ProviderNameRule = "letters, digits, '.', '_' and '-' only (it is the prefix before '/')";

    internal static List<ProviderConfig> ReadProviders(YamlMappingReader root, List<ConfigError> errors)
    {
        var result = new List<ProviderConfig>();
        var providers = root.Mapping("providers");
        if (providers is null)
        {
            return result;
        }
        providers.ReportCaseDuplicates("provider");
        foreach (var (name, node) in providers.Entries)
        {
            if (result.Exists(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            if (!IsValidName(name))
            {
                providers.Error(name, node, "invalid provider name: " + ProviderNameRule);
                continue;
            }
            if (node is not YamlMappingNode mapping)
            {
                providers.Error(name, node, "expected a mapping with type and base_url");
                continue;
            }
            if (ReadProvider(providers.Nested(name, mapping), name, errors) is { } provider)
            {
                result.Add(provider);
            }
        }
        providers.ReportUnknownKeys();
        return result;
    }

    internal static ProviderConfig? ReadProvider(YamlMappingReader p, string name, List<ConfigError> errors)
    {
        int errorsBefore = errors.Count;
        string? disabledReason = null;

        var type = p.String("type");
        if (type is null)
        {
            p.Error("type", null, $"required (supported: {Providers.ProviderTypes.Supported})");
        }
        else if (Providers.ProviderTypes.Find(type) is null)
        {
            p.Error("type", p.Take("type"), $"unsupported provider type '{type}' (supported: {Providers.ProviderTypes.Supported})");
        }

        var baseUrlText = p.String("base_url");
        Uri? baseUrl = null;
        if (baseUrlText is null)
        {
            p.Error("base_url", null, "required: the provider's API root, e.g. https://api.openai.com/v1");
        }
        else if (!Uri.TryCreate(baseUrlText, UriKind.Absolute, out baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            p.Error("base_url", p.Take("base_url"), "not an absolute http(s) URL");
            baseUrl = null;
        }
        else if (baseUrl.UserInfo.Length > 0 || baseUrl.Fragment.Length > 0)
        {
            p.Error("base_url", p.Take("base_url"), "must not contain credentials or a fragment (put keys in api_key)");
            baseUrl = null;
        }

        Secret? apiKey = null;
        var keyText = p.String("api_key", out var missingKeyVariable, out var keyNode);
        if (missingKeyVariable is not null)
        {
            disabledReason = $"api_key: environment variable {missingKeyVariable} is not set";
        }
        else if (keyText is not null)
        {
            // Kubernetes secrets made with `echo` end in a newline; header values must not contain control characters.
            keyText = keyText.Trim();
            if (keyText.Length == 0)
            {
                disabledReason = "api_key is empty";
            }
            else if (!IsHeaderSafe(keyText))
            {
                p.Error("api_key", keyNode, "contains control characters");
            }
            else
            {
                apiKey = new Secret(keyText);
            }
        }

        var headers = new List<KeyValuePair<string, Secret>>();
        if (p.Mapping("headers") is { } headerReader)
        {
            foreach (var (headerName, headerNode) in headerReader.Entries)
            {
                var value = headerReader.ScalarOf(headerName, headerNode, out var missing);
                if (missing is not null)
                {
                    disabledReason ??= $"headers.{headerName}: environment variable {missing} is not set";
                }
                else if (!IsToken(headerName) || value is null || !IsHeaderSafe(value))
                {
                    headerReader.Error(headerName, headerNode, "not a valid HTTP header name and value");
                }
                else
                {
                    headers.Add(new(headerName, new Secret(value.Trim())));
                }
            }
        }

        var timeout = p.Duration("timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)) ?? ProviderConfig.DefaultTimeout;
        var connectTimeout = p.Duration("connect_timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5)) ?? ProviderConfig.DefaultConnectTimeout;
        var enabled = p.Boolean("enabled") ?? true;
        var models = ReadModelList(p);
        var discover = p.Boolean("discover_models") ?? true;
        var resilience = ReadResilience(p, timeout);
        var native = ReadNativeOptions(p, type, baseUrl);
        p.ReportUnknownKeys();

        if (!enabled)
        {
            disabledReason = "enabled: false";
        }
        if (errors.Count > errorsBefore || type is null || baseUrl is null)
        {
            return null;
        }
        return new ProviderConfig(
            name, type, baseUrl, apiKey, headers, timeout, connectTimeout, disabledReason is null, disabledReason, models, discover, resilience, native);
    }

    // Which type each type-specific key belongs to: elsewhere it is an error, not a key that is silently ignored.
    private static readonly (string Key, string Type)[] s_typeKeys =
    [
        ("anthropic_version", "anthropic"), ("beta", "anthropic"), ("default_max_tokens", "anthropic"),
        ("api_version", "azure"), ("deployments", "azure"), ("azure_filter_results", "azure"),
    ];

    internal static NativeOptions? ReadNativeOptions(YamlMappingReader p, string? type, Uri? baseUrl)
    {
        foreach (var (key, owner) in s_typeKeys)
        {
            if (type != owner && p.Take(key) is { } node)
            {
                p.Error(key, node, $"applies to type: {owner} only");
            }
        }
        if (type is not ("anthropic" or "gemini") && p.Take("unsupported_params") is { } misplaced)
        {
            p.Error("unsupported_params", misplaced, "applies to the translating types only (anthropic, gemini)");
        }
        if (baseUrl is not null && HasKeyParameter(baseUrl.Query))
        {
            // A key in a URL ends up in logs and exception messages; every type sends it in a header.
            p.Error("base_url", p.Take("base_url"), "must not carry a key (?key=...): put it in api_key, which is sent as a header");
        }
        if (type is not ("anthropic" or "gemini" or "azure"))
        {
            return null;
        }
        var d = NativeOptions.Default;
        var version = type == "anthropic" ? p.String("anthropic_version") ?? d.AnthropicVersion : d.AnthropicVersion;
        if (!IsHeaderSafe(version) || version.Length == 0)
        {
            p.Error("anthropic_version", p.Take("anthropic_version"), "not a valid header value");
        }
        var beta = type == "anthropic" ? ReadStringList(p, "beta", "a list of anthropic-beta values") : null;
        if (beta is not null && beta.Exists(b => !IsToken(b)))
        {
            p.Error("beta", p.Take("beta"), "each value must be a header token (e.g. prompt-caching-2024-07-31)");
        }
        int maxTokens = type == "anthropic" ? (int)(p.Integer("default_max_tokens", 1, 1_000_000) ?? d.DefaultMaxTokens) : d.DefaultMaxTokens;
        string? apiVersion = null;
        var deployments = new List<KeyValuePair<string, string>>();
        bool filterResults = false;
        if (type == "azure")
        {
            apiVersion = p.String("api_version");
            bool v1 = baseUrl is not null && baseUrl.AbsolutePath.TrimEnd('/').EndsWith("/v1", StringComparison.Ordinal);
            if (apiVersion is not null && (apiVersion.Length == 0 || !IsToken(apiVersion)))
            {
                p.Error("api_version", p.Take("api_version"), "expected a version such as 2024-10-21");
            }
            else if (baseUrl is not null && v1 && apiVersion is not null)
            {
                p.Error("api_version", p.Take("api_version"), "the v1 API (base_url ending in /openai/v1) takes no api_version; remove it, or use the classic base_url .../openai");
            }
            else if (baseUrl is not null && !v1 && apiVersion is null)
            {
                p.Error("api_version", p.Take("base_url"), "required for the classic API (base_url .../openai); or use the v1 API with base_url .../openai/v1");
            }
            if (p.Mapping("deployments") is { } map)
            {
                foreach (var (model, node) in map.Entries)
                {
                    var deployment = map.ScalarOf(model, node, out _);
                    if (string.IsNullOrWhiteSpace(deployment) || !IsValidName(deployment))
                    {
                        map.Error(model, node, "expected a deployment name (letters, digits, '.', '_' and '-')");
                        continue;
                    }
                    deployments.Add(new(model, deployment));
                }
            }
            filterResults = p.Boolean("azure_filter_results") ?? false;
        }
        var unsupported = type is "anthropic" or "gemini"
            ? p.Choice("unsupported_params", UnsupportedParams.Reject, text => $"expected reject or drop, got '{text}'",
                ("reject", UnsupportedParams.Reject), ("drop", UnsupportedParams.Drop)) ?? UnsupportedParams.Reject
            : UnsupportedParams.Reject;
        return new NativeOptions(version, beta ?? [], maxTokens, apiVersion, deployments, filterResults, unsupported);
    }

    private static bool HasKeyParameter(string query)
    {
        foreach (var pair in query.TrimStart('?').Split('&'))
        {
            if (pair.Equals("key", StringComparison.OrdinalIgnoreCase) || pair.StartsWith("key=", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    internal static ProviderResilience ReadResilience(YamlMappingReader p, TimeSpan timeout)
    {
        var d = ProviderResilience.Default;
        // A non-streaming answer's first bytes come with its headers, so the header timeout is a safe default.
        var firstToken = p.Duration("first_token_timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)) ?? timeout;
        var idle = p.Duration("stream_idle_timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)) ?? d.StreamIdleTimeout;
        var keepalive = p.Duration("keepalive_interval", TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)) ?? d.KeepaliveInterval;
        var retries = (int)(p.Integer("retries", 0, 10) ?? d.Retries);
        var maxRetryWait = p.Duration("max_retry_wait", TimeSpan.Zero, TimeSpan.FromMinutes(10)) ?? d.MaxRetryWait;
        int threshold = d.FailureThreshold;
        var cooldown = d.Cooldown;
        if (p.Mapping("circuit") is { } circuit)
        {
            threshold = (int)(circuit.Integer("failure_threshold", 1, 1000) ?? threshold);
            cooldown = circuit.Duration("cooldown", TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(24)) ?? cooldown;
            circuit.ReportUnknownKeys();
        }
        var prefill = ReadPrefill(p, "prefill");
        var modelPrefill = new List<KeyValuePair<string, PrefillMode>>();
        if (p.Mapping("model_prefill") is { } models)
        {
            foreach (var (glob, _) in models.Entries)
            {
                modelPrefill.Add(new(glob, ReadPrefill(models, glob)));
            }
        }
        return new ProviderResilience(firstToken, idle, keepalive, retries, maxRetryWait, threshold, cooldown, prefill, modelPrefill.Count == 0 ? null : modelPrefill);
    }

    internal static PrefillMode ReadPrefill(YamlMappingReader reader, string key) =>
        reader.Choice(key, PrefillMode.None, text => $"expected false, true (or assistant) or vllm, got '{text}'",
            ("false", PrefillMode.None), ("true", PrefillMode.Assistant), ("assistant", PrefillMode.Assistant), ("vllm", PrefillMode.Vllm))
        ?? PrefillMode.None;

    internal static List<string> ReadModelList(YamlMappingReader p)
    {
        var models = new List<string>();
        var node = p.Take("models");
        if (node is null)
        {
            return models;
        }
        if (node is not YamlSequenceNode sequence)
        {
            p.Error("models", node, "expected a list of model names");
            return models;
        }
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var key = $"models[{i}]";
            var model = p.ScalarOf(key, sequence.Children[i], out _);
            if (string.IsNullOrWhiteSpace(model) || model.Length > 256 || model.Any(char.IsControl))
            {
                p.Error(key, sequence.Children[i], "expected a model name");
                continue;
            }
            models.Add(model);
        }
        return models;
    }

    internal static ModelsConfig ReadModels(YamlMappingReader? models)
    {
        if (models is null)
        {
            return ModelsConfig.Default;
        }
        var interval = models.Duration("refresh_interval", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)) ?? ModelsConfig.Default.RefreshInterval;
        var timeout = models.Duration("fetch_timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5)) ?? ModelsConfig.Default.FetchTimeout;
        models.ReportUnknownKeys();
        return new ModelsConfig(interval, timeout);
    }

    internal static TranslationConfig ReadTranslation(YamlMappingReader? translation)
    {
        if (translation is null)
        {
            return TranslationConfig.Default;
        }
        var entries = (int)(translation.Integer("state_cache_entries", 0, 10_000_000) ?? TranslationConfig.Default.StateCacheEntries);
        var ttl = translation.Duration("state_cache_ttl", TimeSpan.FromSeconds(1), TimeSpan.FromDays(30)) ?? TranslationConfig.Default.StateCacheTtl;
        translation.ReportUnknownKeys();
        return new TranslationConfig(entries, ttl);
    }

    internal static RoutingConfig ReadRouting(YamlMappingReader? routing)
    {
        if (routing is null)
        {
            return RoutingConfig.Default;
        }
        var requireKnown = routing.Boolean("require_known_model") ?? false;
        routing.ReportUnknownKeys();
        return new RoutingConfig(requireKnown);
    }
}
