using System.Text;

namespace Gateway.Core.Providers;

/// <summary>
/// The rules that keep a client's request target inside a provider's <c>base_url</c>. A client chooses only the
/// path below <c>/v1/</c> and a query; neither may reach another path, add a fragment or change the base_url's
/// query. Without them, a decoded <c>%5C</c> or <c>%2e%2e</c> turned into <c>/../</c> by <see cref="Uri"/> sent the
/// provider's key to any path of the provider's host.
/// </summary>
internal static class UpstreamUri
{
    /// <summary>
    /// True when <paramref name="path"/> (what follows <c>/v1/</c>) is one or more segments of
    /// <c>[A-Za-z0-9._-]+</c> separated by single slashes, none of them <c>.</c> or <c>..</c>. Judged on the raw
    /// request target and on the decoded path alike: a percent sign, a backslash, a control character, an empty
    /// segment (<c>//</c>, a trailing slash) or any other byte fails it.
    /// </summary>
    public static bool IsSafePath(ReadOnlySpan<char> path)
    {
        if (path.IsEmpty)
        {
            return false;
        }
        foreach (var range in path.Split('/'))
        {
            var segment = path[range];
            if (segment.IsEmpty || segment is "." or "..")
            {
                return false;
            }
            foreach (var c in segment)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>
    /// The path part of a raw HTTP request target (origin form <c>/v1/x?q</c> or absolute form
    /// <c>http://host/v1/x?q</c>), or empty when it has none.
    /// </summary>
    public static ReadOnlySpan<char> PathOfTarget(ReadOnlySpan<char> target)
    {
        if (!target.StartsWith('/'))
        {
            int scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme <= 0)
            {
                return default;
            }
            target = target[(scheme + 3)..];
            int slash = target.IndexOf('/');
            if (slash < 0)
            {
                return default;
            }
            target = target[slash..];
        }
        int query = target.IndexOf('?');
        return query < 0 ? target : target[..query];
    }

    /// <summary>
    /// Appends the client's query, re-encoded so that nothing in it can end the query (no <c>#</c>) or inject a
    /// byte a URI may not carry: every character outside RFC 3986's query set, and every <c>%</c> that does not
    /// start a valid escape, is percent-encoded (as UTF-8). Parameters whose name the base_url's query already
    /// sets are dropped: the configured query (Azure's api-version) wins. Returns whether anything was appended.
    /// </summary>
    public static bool AppendClientQuery(StringBuilder uri, ReadOnlySpan<char> query, IReadOnlyList<string> reservedNames)
    {
        bool any = false;
        foreach (var range in query.Split('&'))
        {
            var pair = query[range];
            if (pair.IsEmpty)
            {
                continue;
            }
            int equals = pair.IndexOf('=');
            var name = equals < 0 ? pair : pair[..equals];
            if (IsReserved(name, reservedNames))
            {
                continue;
            }
            if (any)
            {
                uri.Append('&');
            }
            AppendEncoded(uri, pair);
            any = true;
        }
        return any;
    }

    /// <summary>The parameter names of a base_url query ("api-version=2024-10-21&amp;x=1" → api-version, x), decoded.</summary>
    public static string[] NamesOf(string? baseQuery)
    {
        if (string.IsNullOrEmpty(baseQuery))
        {
            return [];
        }
        var names = new List<string>();
        foreach (var pair in baseQuery.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = pair.IndexOf('=', StringComparison.Ordinal);
            names.Add(Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]));
        }
        return names.ToArray();
    }

    private static bool IsReserved(ReadOnlySpan<char> rawName, IReadOnlyList<string> reservedNames)
    {
        if (reservedNames.Count == 0)
        {
            return false;
        }
        // Compared decoded: "api%2Dversion" is api-version to the provider.
        var name = rawName.Contains('%') ? Uri.UnescapeDataString(rawName.ToString()).AsSpan() : rawName;
        foreach (var reserved in reservedNames)
        {
            if (name.Equals(reserved, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static void AppendEncoded(StringBuilder uri, ReadOnlySpan<char> text)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '%' && i + 2 < text.Length && char.IsAsciiHexDigit(text[i + 1]) && char.IsAsciiHexDigit(text[i + 2]))
            {
                uri.Append(text.Slice(i, 3));
                i += 2;
            }
            else if (IsQueryChar(c))
            {
                uri.Append(c);
            }
            else
            {
                int length = i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1]) ? 2 : 1;
                int bytes = Encoding.UTF8.GetBytes(text.Slice(i, length), utf8);
                for (int b = 0; b < bytes; b++)
                {
                    uri.Append('%').Append(HexUpper[utf8[b] >> 4]).Append(HexUpper[utf8[b] & 0xF]);
                }
                i += length - 1;
            }
        }
    }

    private const string HexUpper = "0123456789ABCDEF";

    // RFC 3986 query: unreserved / sub-delims / ":" / "@" / "/" / "?" ("%" handled above, "#" never).
    private static bool IsQueryChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ',' or ';'
            or '=' or ':' or '@' or '/' or '?';
}
