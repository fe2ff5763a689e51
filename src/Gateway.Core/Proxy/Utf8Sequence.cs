using System.Buffers;
using System.Text.Unicode;

namespace Gateway.Core.Proxy;

/// <summary>UTF-8 validation of a body that may be split into segments anywhere, even inside a character.</summary>
internal static class Utf8Sequence
{
    public static bool IsValid(in ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            return Utf8.IsValid(data.FirstSpan);
        }
        Span<byte> carry = stackalloc byte[4];
        int carried = 0;
        foreach (var segment in data)
        {
            var span = segment.Span;
            if (carried > 0)
            {
                // Complete the character that the previous segment ended in the middle of.
                int needed = SequenceLength(carry[0]);
                int take = Math.Min(needed - carried, span.Length);
                span[..take].CopyTo(carry[carried..]);
                carried += take;
                span = span[take..];
                if (carried < needed)
                {
                    continue;
                }
                if (!Utf8.IsValid(carry[..carried]))
                {
                    return false;
                }
                carried = 0;
            }
            int complete = CompletePrefixLength(span);
            if (!Utf8.IsValid(span[..complete]))
            {
                return false;
            }
            span[complete..].CopyTo(carry);
            carried = span.Length - complete;
        }
        return carried == 0;
    }

    // The length of the span without a trailing, incomplete multi-byte sequence.
    private static int CompletePrefixLength(ReadOnlySpan<byte> span)
    {
        for (int i = 1; i <= 3 && i <= span.Length; i++)
        {
            byte b = span[^i];
            if ((b & 0xC0) != 0x80)
            {
                return SequenceLength(b) > i ? span.Length - i : span.Length;
            }
        }
        return span.Length;
    }

    private static int SequenceLength(byte lead) => lead switch
    {
        < 0x80 => 1,
        >= 0xF0 => 4,
        >= 0xE0 => 3,
        >= 0xC0 => 2,
        _ => 1,
    };
}
