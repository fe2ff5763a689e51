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
        p.ReportUnknownKeys();

        if (!enabled)
        {
            disabledReason = "enabled: false";
        }
        if (errors.Count > errorsBefore || type is null || baseUrl is null)
        {
            return null;
        }
        return new ProviderConfig(name, type, baseUrl, apiKey, headers, timeout, connectTimeout, disabledReason is null, disabledReason, models, discover, resilience);
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
