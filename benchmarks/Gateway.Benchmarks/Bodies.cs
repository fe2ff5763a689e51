using System.Buffers;
using System.Text;

namespace Gateway.Benchmarks;

/// <summary>Representative request bodies: a small chat request, 64 KB and 1 MB prompts, and escaped strings.</summary>
internal static class Bodies
{
    public static byte[] Small { get; } = Encoding.UTF8.GetBytes(
        """{"model":"openai/gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant that answers briefly."},{"role":"user","content":"Write one short sentence about the sea, please."}],"temperature":0.7,"max_tokens":64,"user":"bench-user-000001"}""");

    public static byte[] Large64K { get; } = WithPrompt(64 * 1024);

    public static byte[] Large1M { get; } = WithPrompt(1024 * 1024);

    public static byte[] Escaped { get; } = Encoding.UTF8.GetBytes(
        """{"messages":[{"role":"user","content":"Quote: \"hi\"\n\tTab \u00e9\u6f22 \ud83d\ude00 back\\slash"}],"model":"openai\/gpt\u002d4o","stream":true}""");

    public static byte[] Get(string name) => name switch
    {
        "small" => Small,
        "64KB" => Large64K,
        "1MB" => Large1M,
        _ => Escaped,
    };

    /// <summary>The body as Kestrel hands it over when it arrived in several reads: segments of <paramref name="size"/> bytes.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] data, int size)
    {
        var first = new Segment(data.AsMemory(0, Math.Min(size, data.Length)), 0);
        var last = first;
        for (int start = size; start < data.Length; start += size)
        {
            last = last.Append(data.AsMemory(start, Math.Min(size, data.Length - start)));
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

    private static byte[] WithPrompt(int size)
    {
        var prompt = new StringBuilder(size);
        while (prompt.Length < size - 200)
        {
            prompt.Append("lorem ipsum dolor sit amet, \\\"quoted\\\" ");
        }
        return Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"{{prompt}}"}],"model":"openai/gpt-4o","stream":false}""");
    }
}
