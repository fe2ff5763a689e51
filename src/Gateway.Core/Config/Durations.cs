using System.Globalization;

namespace Gateway.Core.Config;

/// <summary>Parses the config's duration syntax: an integer followed by ms, s, m or h ("500ms", "30s", "5m").</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        var s = text.AsSpan().Trim();
        int unitStart = 0;
        while (unitStart < s.Length && char.IsAsciiDigit(s[unitStart]))
        {
            unitStart++;
        }
        if (unitStart == 0 || !long.TryParse(s[..unitStart], NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }
        var unit = s[unitStart..];
        double ms = unit switch
        {
            "ms" => amount,
            "s" => amount * 1000.0,
            "m" => amount * 60_000.0,
            "h" => amount * 3_600_000.0,
            _ => -1,
        };
        if (ms < 0 || ms > TimeSpan.FromDays(1).TotalMilliseconds)
        {
            return false;
        }
        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalMilliseconds % 1000 != 0 ? $"{(long)value.TotalMilliseconds}ms" : $"{(long)value.TotalSeconds}s";
}
