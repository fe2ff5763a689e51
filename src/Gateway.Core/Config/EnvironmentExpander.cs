using System.Text;

namespace Gateway.Core.Config;

/// <summary>
/// Expands <c>${VAR}</c> and <c>${VAR:-default}</c> in config values. Unset variables are reported by name, never
/// by value, so the caller can decide whether that disables a provider or fails validation.
/// </summary>
internal sealed class EnvironmentExpander
{
    private readonly Func<string, string?> _lookup;

    public EnvironmentExpander(Func<string, string?> lookup) => _lookup = lookup;

    public static EnvironmentExpander FromProcess { get; } = new(Environment.GetEnvironmentVariable);

    /// <returns>The expanded text, or null when a variable without default is unset (its name in <paramref name="missing"/>).</returns>
    public string? Expand(string text, out string? missing)
    {
        missing = null;
        int start = text.IndexOf("${", StringComparison.Ordinal);
        if (start < 0)
        {
            return text;
        }
        var result = new StringBuilder(text.Length);
        int position = 0;
        while (start >= 0)
        {
            int end = text.IndexOf('}', start + 2);
            if (end < 0)
            {
                break;
            }
            result.Append(text, position, start - position);
            var body = text.AsSpan(start + 2, end - start - 2);
            int dash = body.IndexOf(":-", StringComparison.Ordinal);
            var name = (dash >= 0 ? body[..dash] : body).ToString();
            var value = _lookup(name);
            if (string.IsNullOrEmpty(value))
            {
                if (dash < 0)
                {
                    missing = name;
                    return null;
                }
                value = body[(dash + 2)..].ToString();
            }
            result.Append(value);
            position = end + 1;
            start = text.IndexOf("${", position, StringComparison.Ordinal);
        }
        result.Append(text, position, text.Length - position);
        return result.ToString();
    }
}
