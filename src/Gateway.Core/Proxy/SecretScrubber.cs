using System.Text;

namespace Gateway.Core.Proxy;

/// <summary>
/// Replaces a provider's own credentials (its api_key and the values of its configured headers) with <c>***</c> in
/// what the provider sends back: real providers echo keys in error bodies. Applied to every response header passed
/// on and to every error body (4xx/5xx), never to a 2xx body (the hot path).
/// </summary>
internal sealed class SecretScrubber
{
    /// <summary>Values shorter than this are not treated as secrets: scrubbing "1" or "true" would mangle answers.</summary>
    public const int MinSecretLength = 8;

    private static readonly byte[] s_mask = "***"u8.ToArray();

    private readonly string[] _secrets;
    private readonly byte[][] _utf8;

    private SecretScrubber(string[] secrets)
    {
        _secrets = secrets;
        _utf8 = new byte[secrets.Length][];
        for (int i = 0; i < secrets.Length; i++)
        {
            _utf8[i] = Encoding.UTF8.GetBytes(secrets[i]);
        }
    }

    /// <summary>A scrubber for these values (those shorter than <see cref="MinSecretLength"/> ignored); null when none is left.</summary>
    public static SecretScrubber? For(IEnumerable<string?> values)
    {
        var secrets = new List<string>();
        foreach (var value in values)
        {
            if (value is { Length: >= MinSecretLength } && !secrets.Contains(value))
            {
                secrets.Add(value);
            }
        }
        // Longest first: a secret that contains another is replaced whole.
        secrets.Sort((a, b) => b.Length.CompareTo(a.Length));
        return secrets.Count == 0 ? null : new SecretScrubber(secrets.ToArray());
    }

    public bool Contains(string value)
    {
        foreach (var secret in _secrets)
        {
            if (value.Contains(secret, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    public string Scrub(string value)
    {
        foreach (var secret in _secrets)
        {
            value = value.Replace(secret, "***", StringComparison.Ordinal);
        }
        return value;
    }

    /// <summary>Scrubs <paramref name="data"/> in place (the mask is shorter than any secret) and returns its new length.</summary>
    public int Scrub(Span<byte> data)
    {
        int length = data.Length;
        foreach (var secret in _utf8)
        {
            int read = 0, write = 0;
            while (true)
            {
                int found = data[read..length].IndexOf(secret);
                int copy = found < 0 ? length - read : found;
                data.Slice(read, copy).CopyTo(data[write..]);
                write += copy;
                if (found < 0)
                {
                    break;
                }
                s_mask.CopyTo(data[write..]);
                write += s_mask.Length;
                read += found + secret.Length;
            }
            length = write;
        }
        return length;
    }
}
