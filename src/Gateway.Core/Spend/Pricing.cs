using Gateway.Core.Access;
using Gateway.Core.Config;

namespace Gateway.Core.Spend;

/// <summary>
/// A model's prices in USD per million tokens, by the token kinds providers bill differently. Absent kinds cost what
/// <see cref="Input"/> costs (see <see cref="CostCalculator"/>).
/// </summary>
internal sealed record ModelPrice(decimal Input, decimal Output, decimal? CachedInput = null, decimal? CacheRead = null, decimal? CacheWrite = null);

/// <summary>One <c>pricing.models</c> entry: a <c>provider/model</c> glob and its price.</summary>
internal sealed record PriceEntry(string Glob, ModelPrice Price);

/// <summary>
/// The price of each served <c>provider/model</c>: the config's entries first, then the bundled file's (the config
/// overrides the file). Within each list the most specific entry wins: a name without wildcards, else the glob with
/// the most literal characters, else the earlier one. Answers are cached per model name (a bounded set: the served
/// targets), so a request costs one dictionary lookup.
/// </summary>
internal sealed class PriceTable
{
    // Served targets are bounded by the config, but a passthrough of client-chosen names is not: past this, lookups are not cached.
    private const int MaxCached = 4096;

    private readonly PriceEntry[] _configured;
    private readonly PriceEntry[] _bundled;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ModelPrice?> _cache = new(StringComparer.Ordinal);

    public PriceTable(IReadOnlyList<PriceEntry> configured, IReadOnlyList<PriceEntry> bundled)
    {
        _configured = [.. configured];
        _bundled = [.. bundled];
    }

    public static PriceTable? From(PricingConfig? config) => config is null ? null : new PriceTable(config.Models, config.FileModels);

    /// <summary>The price of a served "provider/model"; null when no entry matches (the cost is unknown, never guessed).</summary>
    public ModelPrice? Find(string model)
    {
        if (_cache.TryGetValue(model, out var price))
        {
            return price;
        }
        price = (BestMatch(_configured, model) ?? BestMatch(_bundled, model))?.Price;
        if (_cache.Count < MaxCached)
        {
            _cache.TryAdd(model, price);
        }
        return price;
    }

    /// <summary>The entry that prices <paramref name="model"/> in one list, by the precedence above.</summary>
    public static PriceEntry? BestMatch(IReadOnlyList<PriceEntry> entries, string model)
    {
        PriceEntry? best = null;
        int bestRank = -1;
        foreach (var entry in entries)
        {
            if (!ModelGlob.Matches(entry.Glob, model))
            {
                continue;
            }
            int rank = Rank(entry.Glob);
            if (rank > bestRank)
            {
                best = entry;
                bestRank = rank;
            }
        }
        return best;
    }

    /// <summary>An exact name outranks every glob; a glob ranks by its literal characters.</summary>
    private static int Rank(string glob)
    {
        int literal = 0;
        foreach (char c in glob)
        {
            if (c is not ('*' or '?'))
            {
                literal++;
            }
        }
        return literal == glob.Length ? int.MaxValue : literal;
    }
}
