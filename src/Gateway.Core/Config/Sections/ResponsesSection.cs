using static Gateway.Core.Config.ConfigChecks;

namespace Gateway.Core.Config.Sections;

/// <summary>What response middleware the config asks for: completion_log, redact, usage.</summary>
internal static class ResponsesSection
{
    internal static CompletionLogConfig? ReadCompletionLog(YamlMappingReader? log)
    {
        if (log is null)
        {
            return null;
        }
        var sink = log.Choice("sink", CompletionSink.File, text => $"expected file or elasticsearch, got '{text}'",
            ("file", CompletionSink.File), ("elasticsearch", CompletionSink.Elasticsearch));
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

    internal static RedactConfig? ReadRedact(YamlMappingReader? redact)
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

    internal static UsageConfig? ReadUsage(YamlMappingReader? usage)
    {
        if (usage is null)
        {
            return null;
        }
        var include = usage.Boolean("include_in_streams") ?? false;
        usage.ReportUnknownKeys();
        return new UsageConfig(include);
    }
}
