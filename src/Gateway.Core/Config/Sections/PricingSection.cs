using Gateway.Core.Spend;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.Core.Config.Sections;

/// <summary>
/// <c>pricing</c>: USD per million tokens per <c>provider/model</c> glob, from the config and an optional file
/// (<c>pricing.file</c>, relative to the config file's directory) of the same shape, which the config overrides.
/// </summary>
internal static class PricingSection
{
    private const decimal MaxPrice = 100_000m;

    internal static PricingConfig? ReadPricing(YamlMappingReader? pricing, List<ConfigError> errors, EnvironmentExpander environment, string? baseDirectory)
    {
        if (pricing is null)
        {
            return null;
        }
        var models = ReadModels(pricing);
        var file = pricing.String("file");
        List<PriceEntry> fileModels = [];
        string? date = null;
        if (file is not null)
        {
            (fileModels, date) = ReadFile(pricing, file, errors, environment, baseDirectory);
        }
        pricing.ReportUnknownKeys();
        return new PricingConfig([.. models], [.. fileModels], file, date);
    }

    /// <summary><c>models: { "glob": { input, cached_input, cache_read, cache_write, output } }</c>.</summary>
    private static List<PriceEntry> ReadModels(YamlMappingReader reader)
    {
        var entries = new List<PriceEntry>();
        var models = reader.Mapping("models");
        if (models is null)
        {
            return entries;
        }
        foreach (var (glob, node) in models.Entries)
        {
            if (node is not YamlMappingNode mapping)
            {
                models.Error(glob, node, "expected { input, output } (and cached_input, cache_read, cache_write): USD per million tokens");
                continue;
            }
            var price = models.Nested(glob, mapping);
            var input = price.Decimal("input", 0, MaxPrice);
            var output = price.Decimal("output", 0, MaxPrice);
            var cachedInput = price.Decimal("cached_input", 0, MaxPrice);
            var cacheRead = price.Decimal("cache_read", 0, MaxPrice);
            var cacheWrite = price.Decimal("cache_write", 0, MaxPrice);
            if (input is null)
            {
                price.Error("input", null, "required: USD per million input tokens");
            }
            if (output is null)
            {
                price.Error("output", null, "required: USD per million output tokens");
            }
            if (glob.Length == 0 || !glob.Contains('/', StringComparison.Ordinal))
            {
                models.Error(glob, node, "expected a \"provider/model\" glob such as \"openai/gpt-4o*\"");
            }
            price.ReportUnknownKeys();
            if (input is { } i && output is { } o)
            {
                entries.Add(new PriceEntry(glob, new ModelPrice(i, o, cachedInput, cacheRead, cacheWrite)));
            }
        }
        return entries;
    }

    private static (List<PriceEntry> Models, string? Date) ReadFile(
        YamlMappingReader pricing, string file, List<ConfigError> errors, EnvironmentExpander environment, string? baseDirectory)
    {
        var path = Path.IsPathRooted(file) ? file : Path.Combine(baseDirectory ?? Directory.GetCurrentDirectory(), file);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(File.ReadAllText(path)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or YamlException)
        {
            pricing.Error("file", pricing.Take("file"), $"cannot read '{file}': {e.Message}");
            return ([], null);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            pricing.Error("file", pricing.Take("file"), $"'{file}' is not a mapping with models");
            return ([], null);
        }
        // Errors in the file name it: "pricing.file(resources/pricing.yaml).models.x.input", with the file's line.
        var reader = new YamlMappingReader(root, $"pricing.file({file})", errors, environment);
        var date = reader.String("date");
        var models = ReadModels(reader);
        reader.ReportUnknownKeys();
        return (models, date);
    }
}
