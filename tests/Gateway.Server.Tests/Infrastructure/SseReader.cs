using System.Text;

namespace Gateway.Server.Tests.Infrastructure;

/// <summary>Reads SSE "data:" payloads one at a time from a live response stream, as a raw SSE client would.</summary>
public sealed class SseReader
{
    private readonly StreamReader _reader;

    public SseReader(Stream stream) => _reader = new StreamReader(stream, Encoding.UTF8);

    /// <returns>The next data payload, or null at a clean end of stream. Throws if the stream ends abnormally.</returns>
    public async Task<string?> NextAsync()
    {
        while (await _reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return line["data: ".Length..];
            }
        }
        return null;
    }
}
