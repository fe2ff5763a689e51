using System.Text;

namespace Gateway.Server.Http;

/// <summary>
/// Keeps the header names a client lists in <c>Connection</c>, which Kestrel would lose. Kestrel parses each value
/// for keep-alive/close/upgrade and, when exactly one of them is present, replaces the whole header with that one
/// token: <c>Connection: keep-alive, User-Agent</c> (or a <c>Connection: keep-alive</c> line next to a
/// <c>Connection: User-Agent</c> line) reads as <c>keep-alive</c>, and User-Agent — hop-by-hop for this request
/// (RFC 9110 §7.6.1) — would be forwarded. Kestrel decodes the value through this encoding (its
/// <c>RequestHeaderEncodingSelector</c>), which writes those three tokens as <c>~token</c> and leaves every other byte
/// as sent: Kestrel does not
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

    // Kestrel decodes through Encoding.GetString(ReadOnlySpan<byte>), which calls the pointer overloads: overriding
    // them keeps this at one string per value (the base versions copy into fresh arrays and decode twice).
    public override unsafe int GetCharCount(byte* bytes, int count) => CharCount(new ReadOnlySpan<byte>(bytes, count));

    public override unsafe int GetChars(byte* bytes, int byteCount, char* chars, int charCount) =>
        Decode(new ReadOnlySpan<byte>(bytes, byteCount), new Span<char>(chars, charCount));

    public override int GetCharCount(byte[] bytes, int index, int count) => CharCount(bytes.AsSpan(index, count));

    public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex) =>
        Decode(bytes.AsSpan(byteIndex, byteCount), chars.AsSpan(charIndex));

    /// <summary>The value's length once each known token has its marker: the bytes, plus one per known token.</summary>
    private static int CharCount(ReadOnlySpan<byte> bytes)
    {
        int count = bytes.Length;
        foreach (var range in bytes.Split((byte)','))
        {
            if (IsKnown(bytes[range].Trim(" \t"u8)))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>The value as sent (ASCII, else refused), with <c>~</c> before each keep-alive, close or upgrade token.</summary>
    private static int Decode(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        int written = 0;
        int at = 0;
        foreach (var range in bytes.Split((byte)','))
        {
            var (start, length) = range.GetOffsetAndLength(bytes.Length);
            var token = bytes.Slice(start, length);
            int lead = token.Length - token.TrimStart(" \t"u8).Length;
            if (IsKnown(token.Trim(" \t"u8)))
            {
                written += Copy(bytes[at..(start + lead)], chars[written..]);
                chars[written++] = Hidden;
                at = start + lead;
            }
        }
        return written + Copy(bytes[at..], chars[written..]);
    }

    private static int Copy(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] > 0x7F)
            {
                throw new DecoderFallbackException("The Connection header must be ASCII.");
            }
            chars[i] = (char)bytes[i];
        }
        return bytes.Length;
    }

    private static bool IsKnown(ReadOnlySpan<byte> token) =>
        Ascii.EqualsIgnoreCase(token, "keep-alive"u8) || Ascii.EqualsIgnoreCase(token, "close"u8) || Ascii.EqualsIgnoreCase(token, "upgrade"u8);

    public override int GetByteCount(char[] chars, int index, int count) => count;

    public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex) =>
        Latin1.GetBytes(chars, charIndex, charCount, bytes, byteIndex);

    public override int GetMaxByteCount(int charCount) => charCount;

    // At most one marker per token, and a token takes at least one byte plus its comma.
    public override int GetMaxCharCount(int byteCount) => byteCount + byteCount / 2 + 1;
}
