namespace Gateway.Core.Proxy;

/// <summary>Receives the payload of every complete "data:" line of an event stream (except [DONE]).</summary>
internal interface ISseDataSink
{
    /// <param name="answerComplete">A finish_reason was seen, in this line or before it.</param>
    void OnData(ReadOnlySpan<byte> payload, bool answerComplete);
}

/// <summary>
/// Follows an event stream as it passes to the client, without changing a byte: whether the answer completed
/// (a finish_reason or [DONE] was seen) and whether the bytes so far end on an event boundary (where a keepalive
/// comment may be inserted). Lines are framed by <see cref="Sse.SseLineFramer"/>.
/// </summary>
internal sealed class SseScanner : IBodyTee, Sse.ISseLineSink, IDisposable
{
    private readonly ISseDataSink? _sink;
    // Mutated in place: not readonly (see SseLineFramer's remarks).
    private Sse.SseLineFramer _framer;
    private bool _lastLineBlank = true;

    public SseScanner(ISseDataSink? sink = null) => _sink = sink;

    public bool SawDone { get; private set; }

    public bool SawFinishReason { get; private set; }

    /// <summary>The answer is whole: a stream that ends now ends cleanly.</summary>
    public bool IsComplete => SawDone || SawFinishReason;

    /// <summary>No partial line is pending and the last line was blank: an event boundary.</summary>
    public bool AtEventBoundary => _framer.AtLineStart && _lastLineBlank;

    public void Append(ReadOnlySpan<byte> chunk) => _framer.Feed(chunk, this);

    void Sse.ISseLineSink.OnLine(ReadOnlySpan<byte> line)
    {
        _lastLineBlank = line.IsEmpty;
        if (!Sse.SseLine.TryGetData(line, out var payload))
        {
            return;
        }
        if (payload.SequenceEqual("[DONE]"u8))
        {
            SawDone = true;
            return;
        }
        if (!SawFinishReason && HasFinishReason(payload))
        {
            SawFinishReason = true;
        }
        _sink?.OnData(payload, SawFinishReason);
    }

    /// <summary>A "finish_reason" property whose value is not null. Inside JSON strings a quote is escaped, so text cannot fake it.</summary>
    public static bool HasFinishReason(ReadOnlySpan<byte> json)
    {
        while (true)
        {
            int at = json.IndexOf("\"finish_reason\""u8);
            if (at < 0)
            {
                return false;
            }
            json = json[(at + 15)..].TrimStart(" \t"u8);
            if (json.IsEmpty || json[0] != (byte)':')
            {
                continue;
            }
            json = json[1..].TrimStart(" \t"u8);
            if (!json.IsEmpty && json[0] != (byte)'n')
            {
                return true;
            }
        }
    }

    public void Dispose() => _framer.Dispose();
}
