namespace Gateway.Core.Access;

/// <summary>
/// Glob matching for model allow-lists: '*' matches any run of characters (slashes included), '?' one. The provider
/// prefix (up to the name's first '/') and a strategy name match case-insensitively, as routing treats them; the
/// model after the slash matches case-sensitively, because it goes upstream as written and model names are
/// case-sensitive there: "openai/gpt-4o" does not allow "openai/GPT-4O".
/// </summary>
internal static class ModelGlob
{
    public static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0, n = 0, star = -1, resume = 0;
        int slash = name.IndexOf('/');
        int caseInsensitiveUpTo = slash < 0 ? name.Length : slash;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || SameChar(pattern[p], name[n], n < caseInsensitiveUpTo)))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++resume;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }

    private static bool SameChar(char pattern, char name, bool ignoreCase) =>
        pattern == name || (ignoreCase && char.ToLowerInvariant(pattern) == char.ToLowerInvariant(name));

    public static bool AnyMatches(IReadOnlyList<string>? patterns, ReadOnlySpan<char> name)
    {
        if (patterns is null)
        {
            return true;
        }
        foreach (var pattern in patterns)
        {
            if (Matches(pattern, name))
            {
                return true;
            }
        }
        return false;
    }
}
