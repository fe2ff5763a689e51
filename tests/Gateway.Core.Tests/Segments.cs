using System.Buffers;

namespace Gateway.Core.Tests;

/// <summary>Builds multi-segment sequences, the way a transport hands over data that arrived in several reads.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] splits)
    {
        var first = new Segment(data.AsMemory(0, splits.Length > 0 ? splits[0] : data.Length), 0);
        var last = first;
        for (int i = 0; i < splits.Length; i++)
        {
            int start = splits[i];
            int end = i + 1 < splits.Length ? splits[i + 1] : data.Length;
            last = last.Append(data.AsMemory(start, end - start));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
