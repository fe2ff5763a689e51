using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Core.Config;

/// <summary>The outcome of reading config.yaml: a config, or every error found.</summary>
public sealed record ConfigLoadResult(GatewayConfig? Config, IReadOnlyList<ConfigError> Errors);

/// <summary>
/// Reads and validates config.yaml in one pass over the YAML tree. Reports every problem (not just the first) with
/// its key path and line; unknown keys are errors, so a typo never silently falls back to a default.
/// </summary>
public static class ConfigLoader
{
    private const string ProviderNameRule = "letters, digits, '.', '_' and '-' only (it is the prefix before '/')";

    public static ConfigLoadResult LoadFile(string path, EnvironmentExpander environment)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ConfigLoadResult(null, [new ConfigError(path, 0, "cannot read the file: " + e.Message)]);
        }
        return Parse(text, environment);
    }

    public static ConfigLoadResult Parse(string yaml, EnvironmentExpander environment)
    {
        var errors = new List<ConfigError>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            return new ConfigLoadResult(null, [new ConfigError("(yaml)", (int)e.Start.Line, e.InnerException?.Message ?? e.Message)]);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way on some truncated flow collections.
            return new ConfigLoadResult(null, [new ConfigError("(yaml)", 0, "malformed YAML (an unterminated [ or { ?)")]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return new ConfigLoadResult(null, [new ConfigError("(root)", 1, "expected a mapping with server and providers")]);
        }

        var reader = new YamlMappingReader(root, "", errors, environment);
        var server = ReadServer(reader.Mapping("server"));
        var providers = ReadProviders(reader, errors);
        var strategies = ReadStrategies(reader, providers);
        var models = ReadModels(reader.Mapping("models"));
        var routing = ReadRouting(reader.Mapping("routing"));
        var auth = ReadAuth(reader.Mapping("auth"));
        var requestLog = ReadRequestLog(reader.Mapping("request_log"));
        var headerRules = ReadHeaderRules(reader.Mapping("headers"));
        var completionLog = ReadCompletionLog(reader.Mapping("completion_log"));
        var bufferMax = reader.Integer("completion_buffer_max_bytes", 1024, 1L << 30) ?? GatewayConfig.DefaultCompletionBufferMaxBytes;
        var redact = ReadRedact(reader.Mapping("redact"));
        var usage = ReadUsage(reader.Mapping("usage"));
        var admin = ReadAdmin(reader.Mapping("admin"));
        var telemetry = ReadTelemetry(reader.Mapping("telemetry"));
        reader.ReportUnknownKeys();

        if (providers.Count == 0 && !errors.Any(e => e.Path.StartsWith("providers", StringComparison.Ordinal)))
        {
            errors.Add(new ConfigError("providers", reader.Line, "at least one provider is required"));
        }

        return errors.Count > 0
            ? new ConfigLoadResult(null, errors)
            : new ConfigLoadResult(new GatewayConfig(
                server, providers, strategies, models, routing, auth, requestLog, headerRules, completionLog, bufferMax, redact, usage, admin, telemetry), errors);
    }

    private static ServerConfig ReadServer(YamlMappingReader? server)
    {
        if (server is null)
        {
            return new ServerConfig("127.0.0.1", 8080, ServerConfig.DefaultMaxRequestBodyBytes, ServerConfig.DefaultDrainTimeout, null, null, ConnectionLimits.Default);
        }
        var host = server.String("host") ?? "127.0.0.1";
        if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out _))
        {
            server.Error("host", server.Take("host"), $"'{host}' is not an IP address or localhost");
        }
        var port = (int)(server.Integer("port", 0, 65535) ?? 8080);
        var maxBody = server.Integer("max_request_body_bytes", 1024, 1L << 30) ?? ServerConfig.DefaultMaxRequestBodyBytes;
        var drain = server.Duration("drain_timeout", TimeSpan.Zero, TimeSpan.FromHours(1)) ?? ServerConfig.DefaultDrainTimeout;
        TlsConfig? tls = null;
        if (server.Mapping("tls") is { } tlsReader)
        {
            var certificate = tlsReader.String("certificate");
            var key = tlsReader.String("key");
            if (certificate is null)
            {
                tlsReader.Error("certificate", null, "required: path to a PEM certificate");
            }
            if (key is null)
            {
                tlsReader.Error("key", null, "required: path to a PEM private key");
            }
            tlsReader.ReportUnknownKeys();
            if (certificate is not null && key is not null)
            {
                tls = new TlsConfig(certificate, key);
            }
        }
        var overload = ReadOverload(server.Mapping("overload"));
        var limits = ReadLimits(server.Mapping("limits"));
        server.ReportUnknownKeys();
        return new ServerConfig(host, port, maxBody, drain, tls, overload, limits);
    }

    private static ConnectionLimits ReadLimits(YamlMappingReader? limits)
    {
        var d = ConnectionLimits.Default;
        if (limits is null)
        {
            return d;
        }
        var maxConnections = limits.Integer("max_connections", 1, 10_000_000);
        var keepAlive = limits.Duration("keep_alive_timeout", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) ?? d.KeepAliveTimeout;
        var headers = limits.Duration("request_headers_timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)) ?? d.RequestHeadersTimeout;
        limits.ReportUnknownKeys();
        return new ConnectionLimits(maxConnections, keepAlive, headers);
    }

    private static OverloadConfig? ReadOverload(YamlMappingReader? overload)
    {
        if (overload is null)
        {
            return null;
        }
        var maxConcurrent = overload.Integer("max_concurrent_requests", 0, 1_000_000) ?? 0;
        var (maxMemoryBytes, maxMemoryPercent) = ReadMemoryLimit(overload);
        overload.ReportUnknownKeys();
        return maxConcurrent == 0 && maxMemoryBytes == 0 && maxMemoryPercent == 0 ? null : new OverloadConfig(maxConcurrent, maxMemoryBytes, maxMemoryPercent);
    }

    /// <summary>"85%" of the memory the process may use, or an amount: "1536MiB", "2GiB".</summary>
    private static (long Bytes, int Percent) ReadMemoryLimit(YamlMappingReader overload)
    {
        var text = overload.String("max_memory");
        if (text is null)
        {
            return (0, 0);
        }
        var value = text.AsSpan().Trim();
        if (value.EndsWith("%") && int.TryParse(value[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var percent) && percent is >= 1 and <= 100)
        {
            return (0, percent);
        }
        foreach (var (unit, shift) in s_memoryUnits)
        {
            if (value.EndsWith(unit, StringComparison.Ordinal)
                && long.TryParse(value[..^unit.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
                && amount is >= 1 and <= 1L << 20)
            {
                return (amount << shift, 0);
            }
        }
        overload.Error("max_memory", overload.Take("max_memory"), $"expected a percentage (1% to 100%) or an amount such as 512MiB or 2GiB, got '{text}'");
        return (0, 0);
    }

    private static readonly (string Unit, int Shift)[] s_memoryUnits = [("MiB", 20), ("GiB", 30)];

    private static List<ProviderConfig> ReadProviders(YamlMappingReader root, List<ConfigError> errors)
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

    private static ProviderConfig? ReadProvider(YamlMappingReader p, string name, List<ConfigError> errors)
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

    private static ProviderResilience ReadResilience(YamlMappingReader p, TimeSpan timeout)
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
        var prefill = ReadPrefill(p, "prefill", p.String("prefill"));
        var modelPrefill = new List<KeyValuePair<string, PrefillMode>>();
        if (p.Mapping("model_prefill") is { } models)
        {
            foreach (var (glob, node) in models.Entries)
            {
                var text = models.ScalarOf(glob, node, out _);
                modelPrefill.Add(new(glob, ReadPrefill(models, glob, text)));
            }
        }
        return new ProviderResilience(firstToken, idle, keepalive, retries, maxRetryWait, threshold, cooldown, prefill, modelPrefill.Count == 0 ? null : modelPrefill);
    }

    private static PrefillMode ReadPrefill(YamlMappingReader reader, string key, string? text)
    {
        switch (text)
        {
            case null or "false":
                return PrefillMode.None;
            case "true" or "assistant":
                return PrefillMode.Assistant;
            case "vllm":
                return PrefillMode.Vllm;
            default:
                reader.Error(key, reader.Take(key), $"expected false, true (or assistant) or vllm, got '{text}'");
                return PrefillMode.None;
        }
    }

    private static List<string> ReadModelList(YamlMappingReader p)
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

    private static ModelsConfig ReadModels(YamlMappingReader? models)
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

    private static RoutingConfig ReadRouting(YamlMappingReader? routing)
    {
        if (routing is null)
        {
            return RoutingConfig.Default;
        }
        var requireKnown = routing.Boolean("require_known_model") ?? false;
        routing.ReportUnknownKeys();
        return new RoutingConfig(requireKnown);
    }

    private static AuthConfig? ReadAuth(YamlMappingReader? auth)
    {
        if (auth is null)
        {
            return null;
        }
        var keys = new List<ClientKeyConfig>();
        var node = auth.Take("keys");
        if (node is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            auth.Error("keys", node, "required: a list of { name, key } (remove auth for an open gateway)");
            auth.ReportUnknownKeys();
            return null;
        }
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var values = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var path = $"keys[{i}]";
            if (sequence.Children[i] is not YamlMappingNode mapping)
            {
                auth.Error(path, sequence.Children[i], "expected { name, key, models, rpm, tpm, max_concurrent }");
                continue;
            }
            var k = auth.Nested(path, mapping);
            var name = k.String("name");
            if (name is null || !IsValidName(name))
            {
                k.Error("name", k.Take("name"), "required: letters, digits, '.', '_' and '-' (it appears in logs)");
            }
            else if (!names.Add(name))
            {
                k.Error("name", k.Take("name"), $"duplicate key name '{name}'");
            }
            var keyText = k.String("key", out var missing, out var keyNode);
            Secret? key = null;
            string? disabled = null;
            if (missing is not null)
            {
                disabled = $"key: environment variable {missing} is not set";
            }
            else if (keyText is null)
            {
                k.Error("key", null, "required");
            }
            else
            {
                keyText = keyText.Trim();
                if (keyText.Length is < 8 or > 256 || !IsHeaderSafe(keyText) || keyText.Contains(' ', StringComparison.Ordinal))
                {
                    k.Error("key", keyNode, "must be 8 to 256 characters without spaces or control characters");
                }
                else if (!values.Add(keyText))
                {
                    k.Error("key", keyNode, "the same key is configured twice");
                }
                else
                {
                    key = new Secret(keyText);
                }
            }
            var models = ReadStringList(k, "models", "a list of model globs such as \"openai/*\"");
            var rpm = (int?)k.Integer("rpm", 1, 10_000_000);
            var tpm = k.Integer("tpm", 1, long.MaxValue / 2);
            var concurrent = (int?)k.Integer("max_concurrent", 1, 1_000_000);
            k.ReportUnknownKeys();
            if (name is not null && (key is not null || disabled is not null))
            {
                keys.Add(new ClientKeyConfig(name, key, models, rpm, tpm, concurrent, disabled));
            }
        }
        auth.ReportUnknownKeys();
        return new AuthConfig(keys);
    }

    private static List<string>? ReadStringList(YamlMappingReader reader, string key, string expected)
    {
        var node = reader.Take(key);
        if (node is null)
        {
            return null;
        }
        if (node is not YamlSequenceNode sequence)
        {
            reader.Error(key, node, "expected " + expected);
            return null;
        }
        var result = new List<string>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var text = reader.ScalarOf($"{key}[{i}]", sequence.Children[i], out var missing);
            if (missing is not null || string.IsNullOrWhiteSpace(text))
            {
                reader.Error($"{key}[{i}]", sequence.Children[i], "expected " + expected);
                continue;
            }
            result.Add(text);
        }
        return result;
    }

    private static RequestLogConfig? ReadRequestLog(YamlMappingReader? log)
    {
        if (log is null)
        {
            return null;
        }
        var format = log.String("format");
        log.ReportUnknownKeys();
        switch (format)
        {
            case null or "json":
                return new RequestLogConfig(RequestLogFormat.Json);
            case "text":
                return new RequestLogConfig(RequestLogFormat.Text);
            default:
                log.Error("format", log.Take("format"), $"expected json or text, got '{format}'");
                return null;
        }
    }

    // Credentials and hop-by-hop headers: forwarding them would leak the client's secret or break the connection.
    private static readonly HashSet<string> s_neverForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "authorization", "x-api-key", "api-key", "cookie", "proxy-authorization", "host", "connection", "content-length",
        "transfer-encoding", "te", "upgrade", "keep-alive", "x-goog-api-key",
    };

    private static HeaderRulesConfig? ReadHeaderRules(YamlMappingReader? headers)
    {
        if (headers is null)
        {
            return null;
        }
        var drop = ReadHeaderNames(headers, "drop_from_client", forwarding: false);
        var forward = ReadHeaderNames(headers, "forward_from_client", forwarding: true);
        headers.ReportUnknownKeys();
        return new HeaderRulesConfig(drop, forward);
    }

    /// <summary>A list of header names, each error under its own key path and line.</summary>
    private static List<string> ReadHeaderNames(YamlMappingReader headers, string key, bool forwarding)
    {
        var node = headers.Take(key);
        var names = new List<string>();
        if (node is null)
        {
            return names;
        }
        if (node is not YamlSequenceNode sequence)
        {
            headers.Error(key, node, "expected a list of header names");
            return names;
        }
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var item = $"{key}[{i}]";
            var name = headers.ScalarOf(item, sequence.Children[i], out _);
            if (name is null || !IsToken(name))
            {
                headers.Error(item, sequence.Children[i], $"'{name}' is not a header name");
            }
            else if (forwarding && s_neverForwarded.Contains(name))
            {
                headers.Error(item, sequence.Children[i], $"'{name}' can never be forwarded (a credential or hop-by-hop header)");
            }
            else
            {
                names.Add(name);
            }
        }
        return names;
    }

    private static CompletionLogConfig? ReadCompletionLog(YamlMappingReader? log)
    {
        if (log is null)
        {
            return null;
        }
        var sinkText = log.String("sink") ?? "file";
        var sink = sinkText switch
        {
            "file" => CompletionSink.File,
            "elasticsearch" => CompletionSink.Elasticsearch,
            _ => (CompletionSink?)null,
        };
        if (sink is null)
        {
            log.Error("sink", log.Take("sink"), $"expected file or elasticsearch, got '{sinkText}'");
        }
        var path = log.String("path") ?? "logs/completions.jsonl";
        var maxFile = log.Integer("max_file_bytes", 4096, long.MaxValue / 2) ?? CompletionLogConfig.DefaultMaxFileBytes;
        var capture = log.Boolean("capture_bodies") ?? false;
        var capacity = (int)(log.Integer("queue_capacity", 1, 10_000_000) ?? CompletionLogConfig.DefaultQueueCapacity);
        ElasticsearchConfig? elasticsearch = null;
        if (log.Mapping("elasticsearch") is { } es)
        {
            var urlText = es.String("url");
            Uri? url = null;
            if (urlText is null || !Uri.TryCreate(urlText, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https") || url.UserInfo.Length > 0)
            {
                es.Error("url", es.Take("url"), "required: an absolute http(s) URL without credentials (put them in api_key)");
                url = null;
            }
            var index = es.String("index") ?? "gateway-completions";
            var apiKeyText = es.String("api_key", out var missing, out _);
            if (missing is not null)
            {
                es.Error("api_key", es.Take("api_key"), $"environment variable {missing} is not set");
            }
            var batch = (int)(es.Integer("batch_size", 1, 100_000) ?? 500);
            var interval = es.Duration("flush_interval", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10)) ?? TimeSpan.FromSeconds(1);
            es.ReportUnknownKeys();
            if (url is not null)
            {
                elasticsearch = new ElasticsearchConfig(url, index, string.IsNullOrWhiteSpace(apiKeyText) ? null : new Secret(apiKeyText.Trim()), batch, interval);
            }
        }
        if (sink == CompletionSink.Elasticsearch && elasticsearch is null && log.Take("elasticsearch") is null)
        {
            log.Error("elasticsearch", null, "required when sink is elasticsearch: { url, index, api_key }");
        }
        log.ReportUnknownKeys();
        return sink is null ? null : new CompletionLogConfig(sink.Value, path, maxFile, capture, elasticsearch, capacity);
    }

    private static RedactConfig? ReadRedact(YamlMappingReader? redact)
    {
        if (redact is null)
        {
            return null;
        }
        var patterns = new List<System.Text.RegularExpressions.Regex>();
        var texts = ReadStringList(redact, "patterns", "a list of regular expressions");
        if (texts is null || texts.Count == 0)
        {
            redact.Error("patterns", redact.Take("patterns"), "required: a non-empty list of regular expressions");
        }
        foreach (var text in texts ?? [])
        {
            try
            {
                patterns.Add(new System.Text.RegularExpressions.Regex(
                    text, System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.Compiled,
                    TimeSpan.FromMilliseconds(100)));
            }
            catch (ArgumentException e)
            {
                redact.Error("patterns", null, $"invalid regular expression '{text}': {e.Message}");
            }
        }
        var replacement = redact.String("replacement") ?? "[redacted]";
        var models = ReadStringList(redact, "models", "a list of model globs");
        var maxMatch = (int)(redact.Integer("max_match_chars", 1, 4096) ?? 64);
        redact.ReportUnknownKeys();
        return patterns.Count == 0 ? null : new RedactConfig(patterns, replacement, models, maxMatch);
    }

    private static TelemetryConfig? ReadTelemetry(YamlMappingReader? telemetry)
    {
        if (telemetry is null)
        {
            return null;
        }
        var d = TelemetryConfig.Default;
        var metrics = telemetry.Boolean("metrics") ?? d.Metrics;
        var traces = telemetry.Boolean("traces") ?? d.Traces;
        double ratio = d.SampleRatio;
        var ratioText = telemetry.String("sample_ratio");
        if (ratioText is not null && (!double.TryParse(ratioText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out ratio) || ratio is < 0 or > 1))
        {
            telemetry.Error("sample_ratio", telemetry.Take("sample_ratio"), $"expected a number from 0 to 1, got '{ratioText}'");
            ratio = d.SampleRatio;
        }
        Uri? endpoint = null;
        var endpointText = telemetry.String("otlp_endpoint");
        if (endpointText is not null && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            telemetry.Error("otlp_endpoint", telemetry.Take("otlp_endpoint"), "expected an absolute http(s) URL such as http://127.0.0.1:4317");
            endpoint = null;
        }
        var protocol = telemetry.String("otlp_protocol") ?? "grpc";
        if (protocol is not ("grpc" or "http"))
        {
            telemetry.Error("otlp_protocol", telemetry.Take("otlp_protocol"), $"expected grpc or http, got '{protocol}'");
        }
        telemetry.ReportUnknownKeys();
        return new TelemetryConfig(metrics, traces, ratio, endpoint, protocol == "http");
    }

    private static AdminConfig? ReadAdmin(YamlMappingReader? admin)
    {
        if (admin is null)
        {
            return null;
        }
        var key = admin.String("key", out var missing, out var node);
        admin.ReportUnknownKeys();
        if (missing is not null)
        {
            return new AdminConfig(null, $"key: environment variable {missing} is not set");
        }
        if (key is null || key.Trim().Length < 16)
        {
            admin.Error("key", node, "required: at least 16 characters (the admin key can reload the config)");
            return null;
        }
        return new AdminConfig(new Secret(key.Trim()), null);
    }

    private static UsageConfig? ReadUsage(YamlMappingReader? usage)
    {
        if (usage is null)
        {
            return null;
        }
        var include = usage.Boolean("include_in_streams") ?? false;
        usage.ReportUnknownKeys();
        return new UsageConfig(include);
    }

    private static List<StrategyConfig> ReadStrategies(YamlMappingReader root, List<ProviderConfig> providers)
    {
        var result = new List<StrategyConfig>();
        var strategies = root.Mapping("strategies");
        if (strategies is null)
        {
            return result;
        }
        strategies.ReportCaseDuplicates("strategy");
        foreach (var (name, node) in strategies.Entries)
        {
            if (result.Exists(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            if (!IsValidName(name))
            {
                strategies.Error(name, node, "invalid strategy name: letters, digits, '.', '_' and '-' only");
                continue;
            }
            if (node is not YamlMappingNode mapping)
            {
                strategies.Error(name, node, "expected a mapping with targets");
                continue;
            }
            if (ReadStrategy(strategies.Nested(name, mapping), name, providers) is { } strategy)
            {
                result.Add(strategy);
            }
        }
        strategies.ReportUnknownKeys();
        return result;
    }

    private static StrategyConfig? ReadStrategy(YamlMappingReader s, string name, List<ProviderConfig> providers)
    {
        var modeText = s.String("mode");
        var mode = modeText switch
        {
            null or "fallback" => StrategyMode.Fallback,
            "loadbalance" => StrategyMode.LoadBalance,
            _ => (StrategyMode?)null,
        };
        if (mode is null)
        {
            s.Error("mode", s.Take("mode"), $"unsupported mode '{modeText}' (supported: fallback, loadbalance)");
        }
        var targets = ReadTargets(s, providers);
        var fallbackOn = ReadFallbackOn(s);
        var rateLimitedText = s.String("rate_limited");
        var rateLimited = rateLimitedText switch
        {
            null or "failover" => RateLimitedPolicy.Failover,
            "wait" => RateLimitedPolicy.Wait,
            _ => (RateLimitedPolicy?)null,
        };
        if (rateLimited is null)
        {
            s.Error("rate_limited", s.Take("rate_limited"), $"expected failover or wait, got '{rateLimitedText}'");
        }
        var interruptText = s.String("on_interrupt");
        var onInterrupt = interruptText switch
        {
            null or "error" => InterruptPolicy.Error,
            "continue" => InterruptPolicy.Continue,
            _ => (InterruptPolicy?)null,
        };
        if (onInterrupt is null)
        {
            s.Error("on_interrupt", s.Take("on_interrupt"), $"expected error or continue, got '{interruptText}'");
        }
        var deadline = s.Duration("deadline", TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)) ?? StrategyConfig.DefaultDeadline;
        s.ReportUnknownKeys();
        if (targets.Count == 0 || mode is null || fallbackOn is null || rateLimited is null || onInterrupt is null)
        {
            return null;
        }
        return new StrategyConfig(name, mode.Value, targets, fallbackOn, rateLimited.Value, onInterrupt.Value, deadline);
    }

    private const int MaxTargets = 32;

    private static List<StrategyTarget> ReadTargets(YamlMappingReader s, List<ProviderConfig> providers)
    {
        var targets = new List<StrategyTarget>();
        var targetsNode = s.Take("targets");
        if (targetsNode is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            s.Error("targets", targetsNode, "required: a non-empty list of \"provider/model\" or { target: provider/model, weight: N }");
            return targets;
        }
        if (sequence.Children.Count > MaxTargets)
        {
            s.Error("targets", targetsNode, $"at most {MaxTargets} targets");
            return targets;
        }
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var key = $"targets[{i}]";
            var node = sequence.Children[i];
            string? text;
            int weight = 1;
            if (node is YamlMappingNode mapping)
            {
                var entry = s.Nested(key, mapping);
                text = entry.String("target");
                if (text is null)
                {
                    entry.Error("target", null, "required: \"provider/model\"");
                }
                weight = (int)(entry.Integer("weight", 1, 1_000_000) ?? 1);
                entry.ReportUnknownKeys();
                if (text is null)
                {
                    continue;
                }
            }
            else
            {
                text = s.ScalarOf(key, node, out var missing);
                if (missing is not null || text is null)
                {
                    s.Error(key, node, "expected \"provider/model\"");
                    continue;
                }
            }
            int slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == text.Length - 1)
            {
                s.Error(key, node, $"'{text}' is not \"provider/model\"");
                continue;
            }
            var provider = text[..slash];
            if (!providers.Exists(p => string.Equals(p.Name, provider, StringComparison.OrdinalIgnoreCase)))
            {
                s.Error(key, node, $"unknown provider '{provider}'");
                continue;
            }
            targets.Add(new StrategyTarget(provider, text[(slash + 1)..], weight));
        }
        return targets;
    }

    private static FallbackPolicy? ReadFallbackOn(YamlMappingReader s)
    {
        var node = s.Take("fallback_on");
        if (node is null)
        {
            return FallbackPolicy.Default;
        }
        if (node is not YamlSequenceNode sequence)
        {
            s.Error("fallback_on", node, "expected a list such as [connect, timeout, 429, 5xx]");
            return null;
        }
        var classes = FailureClasses.None;
        var statuses = new List<int>();
        var codes = new List<string>();
        bool valid = true;
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var key = $"fallback_on[{i}]";
            var text = s.ScalarOf(key, sequence.Children[i], out _);
            switch (text)
            {
                case "connect":
                    classes |= FailureClasses.Connect;
                    break;
                case "timeout":
                    classes |= FailureClasses.Timeout;
                    break;
                case "429":
                    classes |= FailureClasses.RateLimited;
                    break;
                case "5xx":
                    classes |= FailureClasses.ServerError;
                    break;
                case not null when int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status):
                    if (status is < 400 or > 599)
                    {
                        s.Error(key, sequence.Children[i], $"status {status} is not an error status (400-599)");
                        valid = false;
                    }
                    else
                    {
                        statuses.Add(status);
                    }
                    break;
                case not null when IsErrorCode(text):
                    codes.Add(text);
                    break;
                default:
                    s.Error(key, sequence.Children[i], $"expected connect, timeout, 429, 5xx, a status (e.g. 404) or an error code (e.g. context_length_exceeded), got '{text}'");
                    valid = false;
                    break;
            }
        }
        return valid ? new FallbackPolicy(classes, statuses, codes) : null;
    }

    private static bool IsErrorCode(string text)
    {
        if (text.Length is 0 or > 64)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return char.IsAsciiLetterLower(text[0]);
    }

    private static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 64)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsToken(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsHeaderSafe(string value)
    {
        foreach (var c in value)
        {
            if (c < 0x20 && c != '\t' || c == 0x7f)
            {
                return false;
            }
        }
        return true;
    }
}
