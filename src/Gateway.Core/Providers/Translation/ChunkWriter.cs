using System.Buffers;
using System.Buffers.Text;

namespace Gateway.Core.Providers.Translation;

/// <summary>Token counts in OpenAI's terms (prompt includes cached, completion includes reasoning), folded by the translator.</summary>
internal struct TranslatedUsage
{
    public long Prompt;
    public long Completion;
    public long Cached;
    public long Reasoning;

    /// <summary>Anthropic's cache reads and writes, also reported as such (billing needs writes apart); -1 when the provider has none.</summary>
    public long CacheRead;
    public long CacheWrite;
}

/// <summary>
/// Writes OpenAI <c>chat.completion.chunk</c> events for one stream. The parts every chunk shares (id, created, model)
/// are rendered once when the stream starts; a chunk is then a few copies: the shared prefix, the delta with the
/// provider's string bytes copied still escaped, the shared suffix. No DOM, no per-chunk allocation.
/// </summary>
internal sealed class ChunkWriter : IDisposable
{
    // The shared start of every chunk, rendered once: data: {"id":"…","object":"chat.completion.chunk","created":…,"model":"…",
    private byte[] _head = [];
    private int _headLength;

    public bool Started => _headLength > 0;

    private ReadOnlySpan<byte> Head => _head.AsSpan(0, _headLength);

    /// <param name="id">The response id, raw JSON string contents.</param>
    /// <param name="model">The model, raw JSON string contents.</param>
    public void Start(ReadOnlySpan<byte> id, ReadOnlySpan<byte> model, long created)
    {
        var head = new PooledBufferWriter(96 + id.Length + model.Length);
        head.Write("data: {\"id\":\""u8);
        head.Write(id);
        head.Write("\",\"object\":\"chat.completion.chunk\",\"created\":"u8);
        WriteNumber(head, created);
        head.Write(",\"model\":\""u8);
        head.Write(model);
        head.Write("\","u8);
        // The writer's array becomes the head (returned to the pool by Dispose).
        (_head, _headLength) = head.Detach();
    }

    /// <summary>Gives the head's pooled array back.</summary>
    public void Dispose()
    {
        if (_head.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_head);
            _head = [];
            _headLength = 0;
        }
    }

    private void Open(IBufferWriter<byte> output)
    {
        output.Write(Head);
        output.Write("\"choices\":[{\"index\":0,\"delta\":{"u8);
    }

    private static void Close(IBufferWriter<byte> output) => output.Write("},\"logprobs\":null,\"finish_reason\":null}]}\n\n"u8);

    public void Role(IBufferWriter<byte> output)
    {
        Open(output);
        output.Write("\"role\":\"assistant\",\"content\":\"\""u8);
        Close(output);
    }

    /// <param name="text">Raw JSON string contents (still escaped).</param>
    public void Content(IBufferWriter<byte> output, ReadOnlySpan<byte> text)
    {
        Open(output);
        output.Write("\"content\":\""u8);
        output.Write(text);
        output.Write("\""u8);
        Close(output);
    }

    /// <summary>The first delta of a tool call: index, id, type, name, and its first arguments (raw string contents, may be empty).</summary>
    public void ToolStart(IBufferWriter<byte> output, int index, ReadOnlySpan<byte> id, ReadOnlySpan<byte> name, ReadOnlySpan<byte> arguments)
    {
        ToolHead(output, index, id, name);
        output.Write(arguments);
        output.Write("\"}}]"u8);
        Close(output);
    }

    /// <summary>
    /// A whole tool call in one delta (providers that send calls complete): its arguments are a JSON object's raw
    /// bytes, written as a JSON string (escaped once, non-ASCII kept as it is).
    /// </summary>
    public void ToolWhole(IBufferWriter<byte> output, int index, ReadOnlySpan<byte> id, ReadOnlySpan<byte> name, ReadOnlySpan<byte> arguments)
    {
        ToolHead(output, index, id, name);
        if (arguments.IsEmpty)
        {
            output.Write("{}"u8);
        }
        else
        {
            WriteEscaped(output, arguments);
        }
        output.Write("\"}}]"u8);
        Close(output);
    }

    /// <summary>JSON text as the contents of a JSON string: quotes, backslashes and control characters escaped.</summary>
    public static void WriteEscaped(IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        while (!json.IsEmpty)
        {
            int special = json.IndexOfAny(s_escaped);
            if (special < 0)
            {
                output.Write(json);
                return;
            }
            output.Write(json[..special]);
            byte b = json[special];
            switch (b)
            {
                case (byte)'"':
                    output.Write("\\\""u8);
                    break;
                case (byte)'\\':
                    output.Write("\\\\"u8);
                    break;
                case (byte)'\n':
                    output.Write("\\n"u8);
                    break;
                case (byte)'\r':
                    output.Write("\\r"u8);
                    break;
                case (byte)'\t':
                    output.Write("\\t"u8);
                    break;
                default:
                    output.Write("\\u00"u8);
                    var hex = output.GetSpan(2);
                    hex[0] = (byte)"0123456789abcdef"[b >> 4];
                    hex[1] = (byte)"0123456789abcdef"[b & 0xF];
                    output.Advance(2);
                    break;
            }
            json = json[(special + 1)..];
        }
    }

    private static readonly SearchValues<byte> s_escaped = SearchValues.Create(
        [(byte)'"', (byte)'\\', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);

    /// <summary>A call's first delta up to its arguments' opening quote: index, id, type and name, once per call.</summary>
    private void ToolHead(IBufferWriter<byte> output, int index, ReadOnlySpan<byte> id, ReadOnlySpan<byte> name)
    {
        Open(output);
        output.Write("\"tool_calls\":[{\"index\":"u8);
        WriteNumber(output, index);
        output.Write(",\"id\":\""u8);
        output.Write(id);
        output.Write("\",\"type\":\"function\",\"function\":{\"name\":\""u8);
        output.Write(name);
        output.Write("\",\"arguments\":\""u8);
    }

    /// <summary>A later delta of a tool call: index and an arguments fragment only (raw string contents).</summary>
    public void ToolArguments(IBufferWriter<byte> output, int index, ReadOnlySpan<byte> arguments)
    {
        Open(output);
        output.Write("\"tool_calls\":[{\"index\":"u8);
        WriteNumber(output, index);
        output.Write(",\"function\":{\"arguments\":\""u8);
        output.Write(arguments);
        output.Write("\"}}]"u8);
        Close(output);
    }

    /// <param name="reason">One of OpenAI's finish reasons.</param>
    public void Finish(IBufferWriter<byte> output, ReadOnlySpan<byte> reason)
    {
        Open(output);
        output.Write("},\"logprobs\":null,\"finish_reason\":\""u8);
        output.Write(reason);
        output.Write("\"}]}\n\n"u8);
    }

    /// <summary>The usage chunk OpenAI sends last when stream_options.include_usage is set: no choices.</summary>
    public void Usage(IBufferWriter<byte> output, in TranslatedUsage usage)
    {
        output.Write(Head);
        output.Write("\"choices\":[],"u8);
        WriteUsage(output, usage);
        output.Write("}\n\n"u8);
    }

    public static void Done(IBufferWriter<byte> output) => output.Write("data: [DONE]\n\n"u8);

    /// <summary>"usage":{...} in OpenAI's shape, Anthropic's cache counts added when known.</summary>
    public static void WriteUsage(IBufferWriter<byte> output, in TranslatedUsage usage)
    {
        output.Write("\"usage\":{\"prompt_tokens\":"u8);
        WriteNumber(output, usage.Prompt);
        output.Write(",\"completion_tokens\":"u8);
        WriteNumber(output, usage.Completion);
        output.Write(",\"total_tokens\":"u8);
        WriteNumber(output, usage.Prompt + usage.Completion);
        output.Write(",\"prompt_tokens_details\":{\"cached_tokens\":"u8);
        WriteNumber(output, usage.Cached);
        output.Write("},\"completion_tokens_details\":{\"reasoning_tokens\":"u8);
        WriteNumber(output, usage.Reasoning);
        output.Write("}"u8);
        if (usage.CacheRead >= 0)
        {
            output.Write(",\"cache_creation_input_tokens\":"u8);
            WriteNumber(output, usage.CacheWrite);
            output.Write(",\"cache_read_input_tokens\":"u8);
            WriteNumber(output, usage.CacheRead);
        }
        output.Write("}"u8);
    }

    /// <summary>An OpenAI error event (before any content it is what the first-event check reads as a failure).</summary>
    /// <param name="message">Raw JSON string contents.</param>
    public static void Error(IBufferWriter<byte> output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> code, ReadOnlySpan<byte> message)
    {
        output.Write("data: {\"error\":{\"message\":\""u8);
        output.Write(message);
        output.Write("\",\"type\":\""u8);
        output.Write(type);
        output.Write("\",\"param\":null,\"code\":\""u8);
        output.Write(code);
        output.Write("\"}}\n\n"u8);
    }

    public static void WriteNumber(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        output.Advance(written);
    }
}
