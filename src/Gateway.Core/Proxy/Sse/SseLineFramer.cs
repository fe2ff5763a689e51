using System.Buffers;

namespace Gateway.Core.Proxy.Sse;

/// <summary>Receives the lines of an event stream in order, without their line ends.</summary>
internal interface ISseLineSink
{
    void OnLine(ReadOnlySpan<byte> line);
}

/// <summary>
/// The one place that knows how an event stream is cut into lines (WHATWG server-sent events): LF, CRLF and a lone
/// CR each end a line; a CRLF split across two reads is one line end; a line split across reads is carried in a
/// pooled buffer until its end arrives; a line longer than the limit is skipped whole (none of it is delivered).
/// Every consumer of event streams frames through this type, incrementally (<see cref="Feed"/>) or over bytes it
/// already holds (<c>NextLine</c>).
/// </summary>
/// <remarks>
/// A mutable struct, kept as a field of its consumer (never a <c>readonly</c> field or a <c>using</c> local, where
/// calls would mutate a copy): framing a stream then allocates nothing of its own until a line spans two reads.
/// </remarks>
internal struct SseLineFramer : IDisposable
{
    /// <summary>A longer line is not delivered (its contents cannot be judged), but still passes to the client untouched.</summary>
    public const int DefaultMaxLineBytes = 1 << 20;

    private readonly int _maxLineBytes;
    private byte[]? _carry;
    private int _carryLength;
    private bool _overflowed;
    private bool _afterCr;

    /// <param name="maxLineBytes">The longest line delivered (<c>default(SseLineFramer)</c>: <see cref="DefaultMaxLineBytes"/>).</param>
    public SseLineFramer(int maxLineBytes) => _maxLineBytes = maxLineBytes;

    /// <summary>No partial line is pending (nor the LF that may follow a CR): the next byte starts a line.</summary>
    public readonly bool AtLineStart => _carryLength == 0 && !_overflowed && !_afterCr;

    /// <summary>Lines skipped because they were longer than the limit.</summary>
    public int OverflowedLines { get; private set; }

    /// <summary>Frames the next bytes of the stream: every line they complete goes to <paramref name="sink"/>.</summary>
    public void Feed(ReadOnlySpan<byte> chunk, ISseLineSink sink)
    {
        if (_afterCr && !chunk.IsEmpty)
        {
            // The LF of a CRLF whose CR ended the previous read: the line already ended there.
            _afterCr = false;
            if (chunk[0] == (byte)'\n')
            {
                chunk = chunk[1..];
            }
        }
        while (!chunk.IsEmpty)
        {
            int end = chunk.IndexOfAny((byte)'\r', (byte)'\n');
            if (end < 0)
            {
                Carry(chunk);
                return;
            }
            Deliver(chunk[..end], sink);
            if (chunk[end] == (byte)'\r')
            {
                if (end + 1 == chunk.Length)
                {
                    _afterCr = true;
                    return;
                }
                if (chunk[end + 1] == (byte)'\n')
                {
                    end++;
                }
            }
            chunk = chunk[(end + 1)..];
        }
    }

    /// <summary>
    /// The first line of <paramref name="text"/> and what follows it, for bytes already held whole (an event, a
    /// buffered stream). False when no line end is left: the rest is a partial line. A CR at the very end counts as
    /// a line end (a held buffer has no next read for its LF).
    /// </summary>
    public static bool NextLine(ref ReadOnlySpan<byte> text, out ReadOnlySpan<byte> line) => NextLine(ref text, out line, out _);

    /// <param name="withEnd">The same line with its line end, as it was sent (to pass it on unchanged).</param>
    public static bool NextLine(ref ReadOnlySpan<byte> text, out ReadOnlySpan<byte> line, out ReadOnlySpan<byte> withEnd)
    {
        int end = text.IndexOfAny((byte)'\r', (byte)'\n');
        if (end < 0)
        {
            line = default;
            withEnd = default;
            return false;
        }
        line = text[..end];
        int next = end + 1;
        if (text[end] == (byte)'\r' && next < text.Length && text[next] == (byte)'\n')
        {
            next++;
        }
        withEnd = text[..next];
        text = text[next..];
        return true;
    }

    /// <summary>The length of the complete events at the start of <paramref name="text"/> (up to its last blank line).</summary>
    public static int CompleteEventsLength(ReadOnlySpan<byte> text)
    {
        int end = 0;
        var rest = text;
        while (NextLine(ref rest, out var line))
        {
            if (line.IsEmpty)
            {
                end = text.Length - rest.Length;
            }
        }
        return end;
    }

    private void Deliver(ReadOnlySpan<byte> piece, ISseLineSink sink)
    {
        if (_carryLength == 0 && !_overflowed)
        {
            sink.OnLine(piece);
            return;
        }
        bool whole = Carry(piece);
        if (whole)
        {
            sink.OnLine(_carry.AsSpan(0, _carryLength));
        }
        _carryLength = 0;
        _overflowed = false;
    }

    /// <returns>False once the pending line is over the limit (it is then skipped to its end).</returns>
    private bool Carry(ReadOnlySpan<byte> piece)
    {
        if (_overflowed)
        {
            return false;
        }
        int needed = _carryLength + piece.Length;
        if (needed > (_maxLineBytes == 0 ? DefaultMaxLineBytes : _maxLineBytes))
        {
            _overflowed = true;
            OverflowedLines++;
            _carryLength = 0;
            return false;
        }
        if (_carry is null || _carry.Length < needed)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 1024));
            if (_carry is not null)
            {
                _carry.AsSpan(0, _carryLength).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_carry);
            }
            _carry = larger;
        }
        piece.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength = needed;
        return true;
    }

    public void Dispose()
    {
        if (_carry is not null)
        {
            ArrayPool<byte>.Shared.Return(_carry);
            _carry = null;
        }
    }
}

/// <summary>Reading one line of an event stream: its field and value.</summary>
internal static class SseLine
{
    /// <summary>A data line's value ("data: x" and "data:x" → "x"); false for any other line.</summary>
    public static bool TryGetData(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> payload) => TryGetField(line, "data"u8, out payload);

    /// <summary>The value of a <paramref name="field"/> line (one space after the colon is not part of it).</summary>
    public static bool TryGetField(ReadOnlySpan<byte> line, ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!line.StartsWith(field))
        {
            return false;
        }
        var rest = line[field.Length..];
        if (rest.IsEmpty)
        {
            return true;
        }
        if (rest[0] != (byte)':')
        {
            return false;
        }
        value = rest.Length > 1 && rest[1] == (byte)' ' ? rest[2..] : rest[1..];
        return true;
    }
}
