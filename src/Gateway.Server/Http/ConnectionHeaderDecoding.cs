using System.Text;

namespace Gateway.Server.Http;

/// <summary>
/// Keeps the header names a client lists in <c>Connection</c>, which Kestrel would lose. Kestrel parses each value
/// for keep-alive/close/upgrade and, when exactly one of them is present, replaces the whole header with that one
/// token: <c>Connection: keep-alive, User-Agent</c> (or a <c>Connection: keep-alive</c> line next to a
/// <c>Connection: User-Agent</c> line) reads as <c>keep-alive</c>, and User-Agent — hop-by-hop for this request
/// (RFC 9110 §7.6.1) — would be forwarded. Kestrel decodes the value through this encoding (its
/// <c>RequestHeaderEncodingSelector</c>), which writes those three tokens as <c>~token</c>: Kestrel does not
/// recognize them, so it keeps every value whole, and <see cref="Gateway.Core.Proxy.HeaderPolicy"/> drops every name listed.
/// </summary>
/// <remarks>
/// What hiding the tokens changes for Kestrel: an HTTP/1.1 connection is kept alive by default anyway; a hidden
/// <c>close</c> is honoured by <see cref="ApplyHiddenClose"/> (the answer says <c>Connection: close</c>, and
/// Kestrel closes after it); a hidden <c>upgrade</c> matters nothing to a gateway that upgrades no request. The one
/// loss: an HTTP/1.0 client's <c>keep-alive</c> is not seen, so it gets one request per connection.
/// </remarks>
internal sealed class ConnectionHeaderDecoding : Encoding
{
    public static readonly ConnectionHeaderDecoding Instance = new();

    private const char Hidden = '~';

    /// <summary>The selector Kestrel calls per header name: this encoding for Connection, the default for the rest.</summary>
    public static Encoding? Select(string headerName) =>
        headerName.Equals("Connection", StringComparison.OrdinalIgnoreCase) ? Instance : null;

    /// <summary>Answers a request whose Connection value hid a close with Connection: close, so the connection still ends.</summary>
    public static void ApplyHiddenClose(HttpContext context)
    {
        var connection = context.Request.Headers.Connection;
        if (connection.Count == 0)
        {
            return;
        }
        foreach (var value in connection)
        {
            if (value is not null && value.Contains("~close", StringComparison.OrdinalIgnoreCase))
            {
                // At the start of the response, whatever wrote it (an error answer clears the headers first).
                context.Response.OnStarting(static state =>
                {
                    ((HttpResponse)state).Headers.Connection = "close";
                    return Task.CompletedTask;
                }, context.Response);
                return;
            }
        }
    }

    public override string GetString(byte[] bytes, int index, int count) => Decode(bytes.AsSpan(index, count));

    private static string Decode(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b > 0x7F)
            {
                throw new DecoderFallbackException("The Connection header must be ASCII.");
            }
        }
        var value = Latin1.GetString(bytes);
        bool known = false;
        foreach (var range in value.AsSpan().Split(','))
        {
            known |= IsKnown(value.AsSpan()[range].Trim());
        }
        if (!known)
        {
            return value;
        }
        var hidden = new StringBuilder(value.Length + 4);
        foreach (var range in value.AsSpan().Split(','))
        {
            var token = value.AsSpan()[range].Trim();
            if (token.IsEmpty)
            {
                continue;
            }
            if (hidden.Length > 0)
            {
                hidden.Append(", ");
            }
            if (IsKnown(token))
            {
                hidden.Append(Hidden);
            }
            hidden.Append(token);
        }
        return hidden.ToString();
    }

    private static bool IsKnown(ReadOnlySpan<char> token) =>
        token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        || token.Equals("close", StringComparison.OrdinalIgnoreCase)
        || token.Equals("upgrade", StringComparison.OrdinalIgnoreCase);

    public override int GetByteCount(char[] chars, int index, int count) => count;

    public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex) =>
        Latin1.GetBytes(chars, charIndex, charCount, bytes, byteIndex);

    public override int GetCharCount(byte[] bytes, int index, int count) => GetString(bytes, index, count).Length;

    public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex)
    {
        var text = GetString(bytes, byteIndex, byteCount);
        text.CopyTo(0, chars, charIndex, text.Length);
        return text.Length;
    }

    public override int GetMaxByteCount(int charCount) => charCount;

    public override int GetMaxCharCount(int byteCount) => byteCount * 2 + 8;
}
