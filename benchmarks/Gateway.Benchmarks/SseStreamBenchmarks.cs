using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Proxy;
using Gateway.Core.ResponseHooks;

namespace Gateway.Benchmarks;

/// <summary>
/// Step 7 for a committed chat stream: a 200-chunk SSE answer through the copy loop with the stream scanner as its
/// tee (finish_reason / [DONE] / event boundaries), chunks either one event each or cut at 100 bytes so events and
/// lines straddle reads; and the same with the completion buffer teed and usage read from it at the end.
/// Budget: a few objects per stream (scanner, buffer, tee, the finish reason), nothing per chunk (buffers are pooled).
/// </summary>
[BenchmarkCategory("HotPath")]
public class SseStreamBenchmarks
{
    private static readonly byte[] s_stream = BuildStream(200);

    private readonly EventStream _upstream = new(s_stream);
    private readonly DiscardingPipeWriter _client = new();

    [Params("event", "100B")]
    public string Chunks { get; set; } = "event";

    [GlobalSetup]
    public void Setup() => _upstream.SplitEvery = Chunks == "event" ? 0 : 100;

    /// <summary>The response middleware's path: scanner and completion buffer on the tee, then usage read from the buffer.</summary>
    [Benchmark]
    public long TeeAndUsage()
    {
        _upstream.Rewind();
        using var scanner = new SseScanner();
        // Sized for the whole stream up front: the benchmark measures the tee and the parse, not the pool's growth path
        // (whose occasional refills, after other benchmarks trimmed the pool, would be counted as allocations).
        using var buffer = new CompletionBuffer(4 * 1024 * 1024, initialBytes: 64 * 1024);
        var tee = new TeePair(scanner, buffer);
        var task = StreamCopier.CopyAsync(_upstream, _client, tee, flushEachRead: true, CancellationToken.None);
        _ = task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
        return UsageParser.FromEvents(buffer.Written.Span, withText: false).Usage?.TotalTokens ?? 0;
    }

    [Benchmark]
    public bool ScanStream()
    {
        _upstream.Rewind();
        using var scanner = new SseScanner();
        var task = StreamCopier.CopyAsync(_upstream, _client, scanner, flushEachRead: true, CancellationToken.None);
        _ = task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
        return scanner.IsComplete;
    }

    private static byte[] BuildStream(int chunks)
    {
        var text = new StringBuilder();
        for (int i = 0; i < chunks; i++)
        {
            text.Append("data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,")
                .Append("\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token").Append(i)
                .Append("\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        }
        text.Append("data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
            .Append("data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":200,\"total_tokens\":212}}\n\ndata: [DONE]\n\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
