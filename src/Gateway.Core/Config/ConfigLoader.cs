using Gateway.Core.Config.Sections;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Core.Config;

/// <summary>The outcome of reading config.yaml: a config, or every error found.</summary>
internal sealed record ConfigLoadResult(GatewayConfig? Config, IReadOnlyList<ConfigError> Errors);

/// <summary>
/// Reads and validates config.yaml in one pass over the YAML tree, one section reader per part of the file
/// (<c>Config/Sections</c>), all sharing <see cref="YamlMappingReader"/> and <see cref="ConfigChecks"/>. Reports every problem (not just the first) with
/// its key path and line; unknown keys are errors, so a typo never silently falls back to a default.
/// </summary>
internal static class ConfigLoader
{
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
        return Parse(text, environment, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <param name="baseDirectory">Where relative paths in the config (pricing.file) start; null: the current directory.</param>
    public static ConfigLoadResult Parse(string yaml, EnvironmentExpander environment, string? baseDirectory = null)
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
        var server = ServerSection.ReadServer(reader.Mapping("server"));
        var providers = ProvidersSection.ReadProviders(reader, errors);
        var strategies = StrategiesSection.ReadStrategies(reader, providers);
        var models = ProvidersSection.ReadModels(reader.Mapping("models"));
        var routing = ProvidersSection.ReadRouting(reader.Mapping("routing"));
        var auth = AccessSection.ReadAuth(reader.Mapping("auth"));
        var requestLog = ObservabilitySection.ReadRequestLog(reader.Mapping("request_log"));
        var headerRules = AccessSection.ReadHeaderRules(reader.Mapping("headers"));
        var completionLog = ResponsesSection.ReadCompletionLog(reader.Mapping("completion_log"));
        var bufferMax = reader.Integer("completion_buffer_max_bytes", 1024, 1L << 30) ?? GatewayConfig.DefaultCompletionBufferMaxBytes;
        var redact = ResponsesSection.ReadRedact(reader.Mapping("redact"));
        var usage = ResponsesSection.ReadUsage(reader.Mapping("usage"));
        var admin = AccessSection.ReadAdmin(reader.Mapping("admin"));
        var telemetry = ObservabilitySection.ReadTelemetry(reader.Mapping("telemetry"));
        var translation = ProvidersSection.ReadTranslation(reader.Mapping("translation"));
        var aliases = StrategiesSection.ReadAliases(reader.Mapping("aliases"), providers, strategies);
        var pricing = PricingSection.ReadPricing(reader.Mapping("pricing"), errors, environment, baseDirectory);
        var state = StateSection.ReadState(reader.Mapping("state"));
        reader.ReportUnknownKeys();

        foreach (var key in auth?.Keys ?? [])
        {
            if (key.Budget is not null && pricing is null)
            {
                errors.Add(new ConfigError($"auth.keys.{key.Name}.budget", reader.Line, "a budget needs a pricing section (a key's spend is what its answers cost)"));
            }
        }
        if (providers.Count == 0 && !errors.Any(e => e.Path.StartsWith("providers", StringComparison.Ordinal)))
        {
            errors.Add(new ConfigError("providers", reader.Line, "at least one provider is required"));
        }

        return errors.Count > 0
            ? new ConfigLoadResult(null, errors)
            : new ConfigLoadResult(new GatewayConfig(
                server, providers, strategies, models, routing, auth, requestLog, headerRules, completionLog, bufferMax, redact, usage, admin, telemetry,
                translation, aliases, pricing, state), errors);
    }
}
