using System.Globalization;

namespace Gateway.Core.Resilience;

/// <summary>Reads how long a provider asked to be left alone: retry-after-ms, x-ms-retry-after-ms, or Retry-After (seconds or an HTTP date).</summary>
internal static class RetryAfter
{
    /// <returns>The delay, or null when absent or unusable (negative, garbage): the caller then uses its default.</returns>
    public static TimeSpan? From(HttpResponseMessage response, TimeProvider time)
    {
        var headers = response.Headers.NonValidated;
        foreach (var name in (ReadOnlySpan<string>)["retry-after-ms", "x-ms-retry-after-ms"])
        {
            if (headers.TryGetValues(name, out var values)
                && double.TryParse(values.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)
                && ms >= 0 && ms < TimeSpan.FromDays(1).TotalMilliseconds)
            {
                return TimeSpan.FromMilliseconds(ms);
            }
        }
        if (!headers.TryGetValues("Retry-After", out var retryAfter))
        {
            return null;
        }
        var text = retryAfter.ToString().Trim();
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds < 86_400 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromDays(1);
        }
        if (DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var delta = date - time.GetUtcNow();
            return delta > TimeSpan.Zero ? delta : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>Whole seconds for a Retry-After header, rounded up so a client never comes back too early.</summary>
    public static long ToHeaderSeconds(TimeSpan delay) => Math.Max(1, (long)Math.Ceiling(delay.TotalSeconds));
}
