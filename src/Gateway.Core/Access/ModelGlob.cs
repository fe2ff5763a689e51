namespace Gateway.Core.Access;

/// <summary>Glob matching for model allow-lists: '*' matches any run of characters (slashes included), '?' one; case-insensitive.</summary>
public static class ModelGlob
{
    public static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0, n = 0, star = -1, resume = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(name[n])))
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
