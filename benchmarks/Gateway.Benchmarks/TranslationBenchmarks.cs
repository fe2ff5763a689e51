using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Providers.Anthropic;
using Gateway.Core.Providers.Gemini;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;

namespace Gateway.Benchmarks;

/// <summary>
/// Step 7 for a translated stream (translation.md §4): the provider's events through the <see cref="TranslatingStream"/>
/// and the copy loop with its stream scanner, against the passthrough copy loop over the same Anthropic bytes.
/// Anthropic: 1,000 text deltas; text + 3 parallel tool calls in 300 argument fragments. Gemini: 200 chunks, 2 calls.
/// Reads are one event each, or cut every 100 bytes so events straddle reads. Budget: the stream's own objects
/// (translator, chunk head, framer), nothing per event: 1,000 events must cost what 10 cost.
/// </summary>
[BenchmarkCategory("HotPath")]
public class TranslationBenchmarks
{
    private static readonly byte[] s_anthropicText = AnthropicText(1000);
    private static readonly byte[] s_anthropicTools = AnthropicTools(300);
    private static readonly byte[] s_gemini = GeminiChunks(200);
    private static readonly byte[] s_openAi = OpenAiChunks(1000);
    private static readonly Gateway.Core.Ingress.Anthropic.MessagesFacts s_messages = new("claude-sonnet-4-5", null, null);

    private readonly EventStream _text = new(s_anthropicText);
    private readonly EventStream _tools = new(s_anthropicTools);
    private readonly EventStream _gemini = new(s_gemini);
    private readonly EventStream _openAi = new(s_openAi);
    private readonly DiscardingPipeWriter _client = new();

    [Params("event", "100B")]
    public string Chunks { get; set; } = "event";

    [GlobalSetup]
    public void Setup()
    {
        int split = Chunks == "event" ? 0 : 100;
        _text.SplitEvery = _tools.SplitEvery = _gemini.SplitEvery = _openAi.SplitEvery = split;
    }

    /// <summary>The baseline: the same Anthropic bytes copied as they are (what a passthrough provider costs).</summary>
    [Benchmark(Baseline = true)]
    public bool PassthroughCopy()
    {
        _text.Rewind();
        return Copy(_text);
    }

    [Benchmark]
    public bool AnthropicText()
    {
        _text.Rewind();
        return Copy(new TranslatingStream(_text, new AnthropicStream(includeUsage: true, created: 1700000000)));
    }

    [Benchmark]
    public bool AnthropicTools()
    {
        _tools.Rewind();
        return Copy(new TranslatingStream(_tools, new AnthropicStream(includeUsage: true, created: 1700000000)));
    }

    [Benchmark]
    public bool GeminiCalls()
    {
        _gemini.Rewind();
        return Copy(new TranslatingStream(_gemini, new GeminiStream(includeUsage: true, created: 1700000000, idSeed: 1)));
    }

    /// <summary>The other direction (/v1/messages): 1,000 OpenAI content chunks as Anthropic events.</summary>
    [Benchmark]
    public bool MessagesText()
    {
        _openAi.Rewind();
        using var stream = new TranslatingStream(_openAi, new Gateway.Core.Ingress.Anthropic.MessagesStream(s_messages));
        var task = StreamCopier.CopyAsync(stream, _client, null, flushEachRead: true, CancellationToken.None);
        var (result, _) = task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
        return result == CopyResult.Success;
    }

    private static readonly System.Buffers.ReadOnlySequence<byte> s_request = new(File.Exists("../../../../load/bodies/stream-anthropic.json")
        ? File.ReadAllBytes("../../../../load/bodies/stream-anthropic.json")
        : Encoding.UTF8.GetBytes("""{"model":"claude/claude-sonnet-4-5","messages":[{"role":"system","content":"You are a helpful assistant that answers briefly."},{"role":"user","content":"Write one short sentence about the sea, please."}],"temperature":0.7,"max_tokens":64,"user":"bench-user-000001","stream":true}"""));

    /// <summary>Step 4 for a translated request: the load benchmark's chat request as an Anthropic Messages body (once per attempt, not per event).</summary>
    [Benchmark]
    public long? AnthropicRequestBody()
    {
        using var body = AnthropicRequest.Build(s_request, "claude-sonnet-4-5"u8, Gateway.Core.Config.NativeOptions.Default, created: 1700000000);
        return body.Headers.ContentLength;
    }

    private bool Copy(Stream upstream)
    {
        using var scanner = new SseScanner();
        var task = StreamCopier.CopyAsync(upstream, _client, scanner, flushEachRead: true, CancellationToken.None);
        _ = task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
        if (upstream is TranslatingStream translating)
        {
            translating.Dispose();
        }
        return scanner.IsComplete;
    }

    /// <summary>The template with @0@, @1@... replaced by the values (raw strings keep the JSON readable).</summary>
    private static string Fill(string template, params object[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            template = template.Replace($"@{i}@", Convert.ToString(values[i], System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }
        return template;
    }

    private static void Event(StringBuilder text, string name, string json) => text.Append("event: ").Append(name).Append("\ndata: ").Append(json).Append("\n\n");

    private static byte[] AnthropicText(int deltas)
    {
        var text = new StringBuilder();
        Event(text, "message_start", """{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}""");
        Event(text, "content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""");
        for (int i = 0; i < deltas; i++)
        {
            Event(text, "content_block_delta", Fill("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token@0@ with \"quotes\""}}""", i));
        }
        Event(text, "content_block_stop", """{"type":"content_block_stop","index":0}""");
        Event(text, "message_delta", Fill("""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":@0@}}""", deltas));
        Event(text, "message_stop", """{"type":"message_stop"}""");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] AnthropicTools(int fragments)
    {
        var text = new StringBuilder();
        Event(text, "message_start", """{"type":"message_start","message":{"id":"msg_01Tools","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}""");
        Event(text, "content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""");
        Event(text, "content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Three lookups."}}""");
        Event(text, "content_block_stop", """{"type":"content_block_stop","index":0}""");
        for (int tool = 1; tool <= 3; tool++)
        {
            Event(text, "content_block_start", Fill("""{"type":"content_block_start","index":@0@,"content_block":{"type":"tool_use","id":"toolu_0@0@","name":"lookup","input":{}}}""", tool));
            for (int i = 0; i < fragments / 3; i++)
            {
                Event(text, "content_block_delta", Fill("""{"type":"content_block_delta","index":@0@,"delta":{"type":"input_json_delta","partial_json":"{\"k@1@\": \"v"}}""", tool, i));
            }
            Event(text, "content_block_stop", Fill("""{"type":"content_block_stop","index":@0@}""", tool));
        }
        Event(text, "message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":300}}""");
        Event(text, "message_stop", """{"type":"message_stop"}""");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] OpenAiChunks(int chunks)
    {
        var text = new StringBuilder();
        for (int i = 0; i < chunks; i++)
        {
            text.Append("data: ").Append(Fill(
                """{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":" token@0@ with \"quotes\""},"logprobs":null,"finish_reason":null}]}""", i)).Append("\n\n");
        }
        text.Append("data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
            .Append("data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1000,\"total_tokens\":1012}}\n\ndata: [DONE]\n\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] GeminiChunks(int chunks)
    {
        var text = new StringBuilder();
        for (int i = 0; i < chunks; i++)
        {
            var part = i is 50 or 120
                ? Fill("""{"functionCall":{"name":"lookup","args":{"city":"Paris","n":@0@}}}""", i)
                : Fill("""{"text":" token@0@ with \"quotes\""}""", i);
            var finish = i == chunks - 1 ? ",\"finishReason\":\"STOP\"" : "";
            text.Append("data: ").Append(Fill(
                """{"candidates":[{"content":{"parts":[@0@],"role":"model"},"index":0@1@}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":@2@,"totalTokenCount":@3@},"modelVersion":"gemini-2.5-flash","responseId":"resp-bench"}""",
                part, finish, i, i + 8)).Append("\n\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
