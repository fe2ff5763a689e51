using System.Buffers;

namespace Gateway.Core.Proxy;

/// <summary>Receives the payload of every complete "data:" line of an event stream (except [DONE]).</summary>
public interface ISseDataSink
{
    /// <param name="answerComplete">A finish_reason was seen, in this line or before it.</param>
    void OnData(ReadOnlySpan<byte> payload, bool answerComplete);
}

/// <summary>
/// Follows an event stream as it passes to the client, without changing a byte: whether the answer completed
/// (a finish_reason or [DONE] was seen) and whether the bytes so far end on an event boundary (where a keepalive
/// comment may be inserted). Lines split across reads are carried in a pooled buffer.
/// </summary>
public sealed class SseScanner : IBodyTee, IDisposable
{
    // A longer line is not followed (its completeness flags cannot be read), but still passes through untouched.
    private const int MaxLineBytes = 1 << 20;

    private readonly ISseDataSink? _sink;
    private byte[]? _carry;
    private int _carryLength;
    private bool _carryOverflowed;
    private bool _lastLineBlank = true;

    public SseScanner(ISseDataSink? sink = null) => _sink = sink;

    public bool SawDone { get; private set; }

    public bool SawFinishReason { get; private set; }

    /// <summary>The answer is whole: a stream that ends now ends cleanly.</summary>
    public bool IsComplete => SawDone || SawFinishReason;

    /// <summary>No partial line is pending and the last line was blank: an event boundary.</summary>
    public bool AtEventBoundary => _carryLength == 0 && !_carryOverflowed && _lastLineBlank;

    public void Append(ReadOnlySpan<byte> chunk)
    {
        while (true)
        {
            int newline = chunk.IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }
            var piece = chunk[..newline];
            if (_carryLength > 0 || _carryOverflowed)
            {
                if (Carry(piece))
                {
                    OnLine(_carry.AsSpan(0, _carryLength));
                }
                _carryLength = 0;
                _carryOverflowed = false;
            }
            else
            {
                OnLine(piece);
            }
            chunk = chunk[(newline + 1)..];
        }
        if (!chunk.IsEmpty)
        {
            Carry(chunk);
        }
    }

    private bool Carry(ReadOnlySpan<byte> piece)
    {
        if (_carryOverflowed)
        {
            return false;
        }
        int needed = _carryLength + piece.Length;
        if (needed > MaxLineBytes)
        {
            _carryOverflowed = true;
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

    private void OnLine(ReadOnlySpan<byte> line)
    {
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }
        _lastLineBlank = line.IsEmpty;
        if (!line.StartsWith("data:"u8))
        {
            return;
        }
        var payload = line[5..];
        if (!payload.IsEmpty && payload[0] == (byte)' ')
        {
            payload = payload[1..];
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

    public void Dispose()
    {
        if (_carry is not null)
        {
            ArrayPool<byte>.Shared.Return(_carry);
            _carry = null;
        }
    }
}
