using System.Globalization;
using Gateway.Core.ResponseHooks;

namespace Gateway.Core.Spend;

/// <summary>
/// What an answer cost, from its usage and its model's price, in <c>decimal</c> (exact to the price's digits).
/// OpenAI semantics: <c>prompt_tokens</c> includes <c>cached_tokens</c>, so uncached input is prompt − cached, and
/// reasoning tokens are part of <c>completion_tokens</c>. Usage with Anthropic's breakdown (cache reads and writes,
/// both inside the prompt count the translation reports) bills each kind at its own price.
/// </summary>
internal static class CostCalculator
{
    private const decimal PerMillion = 1_000_000m;

    public static decimal Of(ModelPrice price, in TokenUsage usage)
    {
        decimal cost;
        if (usage.CacheReadTokens >= 0)
        {
            long uncached = Math.Max(0, usage.PromptTokens - usage.CacheReadTokens - usage.CacheWriteTokens);
            cost = uncached * price.Input
                + usage.CacheReadTokens * (price.CacheRead ?? price.CachedInput ?? price.Input)
                + usage.CacheWriteTokens * (price.CacheWrite ?? price.Input);
        }
        else
        {
            long cached = Math.Clamp(usage.CachedTokens, 0, usage.PromptTokens);
            cost = (usage.PromptTokens - cached) * price.Input + cached * (price.CachedInput ?? price.Input);
        }
        cost += usage.CompletionTokens * price.Output;
        return Math.Round(cost / PerMillion, 10, MidpointRounding.AwayFromZero);
    }

    /// <summary>A JSON number with up to 10 decimals, no exponent, no trailing zeros ("0.0000125", "12").</summary>
    public static string Format(decimal usd) => usd.ToString("0.##########", CultureInfo.InvariantCulture);

    /// <summary>Writes <see cref="Format"/> into a UTF-8 span without a string; false when it does not fit.</summary>
    public static bool TryFormat(decimal usd, Span<byte> destination, out int written) =>
        usd.TryFormat(destination, out written, "0.##########", CultureInfo.InvariantCulture);
}
