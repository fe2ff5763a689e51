using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>
/// An OpenAI chat-completion stream as Anthropic's Messages events (translation.md §3.3), for <c>/v1/messages</c>
/// clients: <c>event:</c> lines on every event; one <c>message_start</c> (full-shape usage) with the first meaningful
/// chunk, then <c>ping</c>; content blocks numbered 0, 1, 2… in start order, each started before its deltas and
/// stopped before the next starts, a delta's type always its block's (reasoning in a <c>thinking</c> block, text in a
/// <c>text</c> block, arguments in a <c>tool_use</c> block); <c>tool_use</c> as the stop reason whenever a tool was
/// called; <c>message_delta</c> with the real usage, then <c>message_stop</c>. An OpenAI error event becomes
/// <c>event: error</c>. String contents are copied still escaped, as in the other direction.
/// </summary>
internal sealed class MessagesStream(MessagesFacts facts) : StreamTranslator
{
    private enum Block : byte
    {
        None,
        Text,
        Thinking,
        Tool,
    }

    private Block _open;
    private int _nextBlock;
    private int _openTool = -1;
    private int _liveTool = -1;
    private List<HeldCall>? _held;
    private bool _started;
    private bool _sawTool;
    private bool _deltaSent;
    private bool _stopped;
    private byte[] _stopReason = s_endTurn;

    private static readonly byte[] s_endTurn = "end_turn"u8.ToArray();
    private static readonly byte[] s_toolUse = "tool_use"u8.ToArray();
    private static readonly byte[] s_maxTokens = "max_tokens"u8.ToArray();
    private static readonly byte[] s_refusal = "refusal"u8.ToArray();
    private long _input, _output, _cached;

    // The upstream answer's id (msg_ + it): copied once, from the first chunk that has one.
    private byte[]? _id;

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_stopped)
        {
            return;
        }
        if (data.SequenceEqual("[DONE]"u8))
        {
            Start(output);
            CloseBlock(output);
            FlushHeld(output);
            if (!_deltaSent)
            {
                MessageDelta(output);
            }
            Event(output, "message_stop"u8);
            output.Write("{\"type\":\"message_stop\"}\n\n"u8);
            _stopped = true;
            return;
        }
        var chunk = new OpenAiChunk(data);
        if (chunk.Invalid)
        {
            return;
        }
        if (!chunk.ErrorMessage.IsEmpty || chunk.IsError)
        {
            Error(output, chunk.ErrorCode.SequenceEqual("overloaded"u8) ? "overloaded_error"u8 : "api_error"u8, chunk.ErrorMessage);
            _stopped = true;
            return;
        }
        if (_id is null && !chunk.Id.IsEmpty && chunk.Id.Length <= 128)
        {
            _id = chunk.Id.ToArray();
        }
        if (chunk.HasUsage)
        {
            _input = chunk.PromptTokens;
            _output = chunk.CompletionTokens;
            _cached = chunk.CachedTokens;
        }
        if (!chunk.Reasoning.IsEmpty)
        {
            Open(output, Block.Thinking, -1);
            Delta(output, ",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\""u8, chunk.Reasoning);
        }
        if (!chunk.Content.IsEmpty)
        {
            Open(output, Block.Text, -1);
            Delta(output, ",\"delta\":{\"type\":\"text_delta\",\"text\":\""u8, chunk.Content);
        }
        if (!chunk.ToolCalls.IsEmpty)
        {
            OnToolCalls(chunk.ToolCalls, output);
        }
        if (!chunk.FinishReason.IsEmpty)
        {
            Start(output);
            CloseBlock(output);
            FlushHeld(output);
            _stopReason = StopReason(chunk.FinishReason, _sawTool);
        }
        else if (chunk.HasUsage && chunk.NoChoices && _started && !_deltaSent)
        {
            // OpenAI's usage chunk comes after the finish: it completes the held message_delta.
            MessageDelta(output);
        }
    }

    /// <summary>
    /// The first tool call streams live in its block; later calls are held (id, name, arguments) and written whole at
    /// the finish, each block started and stopped in turn. An upstream that interleaves the arguments of parallel calls
    /// can then still add to the live call, and no fragment ever arrives for a block already stopped.
    /// </summary>
    private void OnToolCalls(ReadOnlySpan<byte> calls, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(calls);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var call = OpenAiToolCall.Read(calls, ref reader);
            _sawTool = true;
            if (_liveTool < 0 && (_held is null || _held.Count == 0))
            {
                _liveTool = call.Index;
                Open(output, Block.Tool, call.Index);
                StartToolBlock(output, call.Id, call.Name);
            }
            if (call.Index == _liveTool && _open == Block.Tool)
            {
                ArgumentsDelta(output, call.Arguments);
                continue;
            }
            var held = Held(call.Index);
            if (!call.Id.IsEmpty)
            {
                held.Id = call.Id.ToArray();
            }
            if (!call.Name.IsEmpty)
            {
                held.Name = call.Name.ToArray();
            }
            held.Arguments.Write(call.Arguments);
        }
    }

    /// <summary>At the finish: the held calls, in index order, each a whole block.</summary>
    private void FlushHeld(IBufferWriter<byte> output)
    {
        if (_held is null)
        {
            return;
        }
        _held.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        foreach (var call in _held)
        {
            Open(output, Block.Tool, call.Index);
            StartToolBlock(output, call.Id, call.Name);
            ArgumentsDelta(output, call.Arguments.WrittenSpan);
            CloseBlock(output);
            call.Arguments.Dispose();
        }
        _held.Clear();
    }

    private HeldCall Held(int index)
    {
        _held ??= [];
        foreach (var call in _held)
        {
            if (call.Index == index)
            {
                return call;
            }
        }
        var added = new HeldCall(index);
        _held.Add(added);
        return added;
    }

    private void StartToolBlock(IBufferWriter<byte> output, ReadOnlySpan<byte> id, ReadOnlySpan<byte> name)
    {
        Event(output, "content_block_start"u8);
        output.Write("{\"type\":\"content_block_start\",\"index\":"u8);
        ChunkWriter.WriteNumber(output, _nextBlock - 1);
        output.Write(",\"content_block\":{\"type\":\"tool_use\",\"id\":\""u8);
        output.Write(id);
        output.Write("\",\"name\":\""u8);
        WriteName(output, name);
        output.Write("\",\"input\":{}}}\n\n"u8);
    }

    private void ArgumentsDelta(IBufferWriter<byte> output, ReadOnlySpan<byte> arguments)
    {
        if (arguments.IsEmpty)
        {
            return;
        }
        Delta(output, ",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\""u8, arguments);
    }

    /// <summary>
    /// A delta of the open block — nearly every event of a stream — written into one span: the event line, the
    /// block's index, the delta's head, the raw (still escaped) fragment, the close.
    /// </summary>
    private void Delta(IBufferWriter<byte> output, ReadOnlySpan<byte> deltaHead, ReadOnlySpan<byte> fragment)
    {
        ReadOnlySpan<byte> head = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"u8;
        ReadOnlySpan<byte> tail = "\"}}\n\n"u8;
        var span = output.GetSpan(head.Length + 11 + deltaHead.Length + fragment.Length + tail.Length);
        head.CopyTo(span);
        int at = head.Length;
        Utf8Formatter.TryFormat(_nextBlock - 1, span[at..], out int digits);
        at += digits;
        deltaHead.CopyTo(span[at..]);
        at += deltaHead.Length;
        fragment.CopyTo(span[at..]);
        at += fragment.Length;
        tail.CopyTo(span[at..]);
        output.Advance(at + tail.Length);
    }

    /// <summary>A tool call held until the finish (raw, still-escaped id, name and arguments).</summary>
    private sealed class HeldCall(int index)
    {
        public int Index { get; } = index;

        public byte[] Id { get; set; } = [];

        public byte[] Name { get; set; } = [];

        public PooledBufferWriter Arguments { get; } = new(256);
    }

    /// <summary>A tool name as the client gave it (long MCP names were shortened on the way up).</summary>
    private void WriteName(IBufferWriter<byte> output, ReadOnlySpan<byte> name)
    {
        if (facts.ToolNames is { Count: > 0 } names && names.TryGetValue(System.Text.Encoding.UTF8.GetString(name), out var original))
        {
            ChunkWriter.WriteEscaped(output, System.Text.Encoding.UTF8.GetBytes(original));
            return;
        }
        output.Write(name);
    }

    /// <summary>Opens a block of this kind unless it is the open one (a tool block: of this call), stopping the open one first.</summary>
    private void Open(IBufferWriter<byte> output, Block kind, int tool)
    {
        Start(output);
        if (_open == kind && (kind != Block.Tool || _openTool == tool))
        {
            return;
        }
        CloseBlock(output);
        _open = kind;
        _openTool = tool;
        if (kind == Block.Tool)
        {
            _nextBlock++;
            return;
        }
        Event(output, "content_block_start"u8);
        output.Write("{\"type\":\"content_block_start\",\"index\":"u8);
        ChunkWriter.WriteNumber(output, _nextBlock++);
        output.Write(kind == Block.Text
            ? ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"u8
            : ",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"u8);
    }

    private void CloseBlock(IBufferWriter<byte> output)
    {
        if (_open == Block.None)
        {
            return;
        }
        Event(output, "content_block_stop"u8);
        output.Write("{\"type\":\"content_block_stop\",\"index\":"u8);
        ChunkWriter.WriteNumber(output, _nextBlock - 1);
        output.Write("}\n\n"u8);
        _open = Block.None;
        _openTool = -1;
    }

    /// <summary>message_start (with the first meaningful chunk: the commit point stays late), then a ping.</summary>
    private void Start(IBufferWriter<byte> output)
    {
        if (_started)
        {
            return;
        }
        _started = true;
        Event(output, "message_start"u8);
        output.Write("{\"type\":\"message_start\",\"message\":{\"id\":\"msg_"u8);
        if (_id is not null)
        {
            output.Write(_id);
        }
        else
        {
            output.Write("gw"u8);
            ChunkWriter.WriteNumber(output, Random.Shared.NextInt64());
        }
        output.Write("\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\""u8);
        ChunkWriter.WriteEscaped(output, System.Text.Encoding.UTF8.GetBytes(facts.Model));
        output.Write("\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n\n"u8);
        Event(output, "ping"u8);
        output.Write("{\"type\":\"ping\"}\n\n"u8);
    }

    private void MessageDelta(IBufferWriter<byte> output)
    {
        _deltaSent = true;
        Event(output, "message_delta"u8);
        output.Write("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\""u8);
        output.Write(_stopReason);
        output.Write("\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":"u8);
        ChunkWriter.WriteNumber(output, _input - _cached);
        output.Write(",\"output_tokens\":"u8);
        ChunkWriter.WriteNumber(output, _output);
        output.Write(",\"cache_read_input_tokens\":"u8);
        ChunkWriter.WriteNumber(output, _cached);
        output.Write(",\"cache_creation_input_tokens\":0}}\n\n"u8);
    }

    /// <summary>OpenAI's finish reason as Anthropic's stop reason: tool_use whenever a tool was called, whatever the upstream said.</summary>
    public static byte[] StopReason(ReadOnlySpan<byte> finish, bool sawTool) => finish switch
    {
        _ when sawTool => s_toolUse,
        _ when finish.SequenceEqual("length"u8) => s_maxTokens,
        _ when finish.SequenceEqual("tool_calls"u8) || finish.SequenceEqual("function_call"u8) => s_toolUse,
        _ when finish.SequenceEqual("content_filter"u8) => s_refusal,
        _ => s_endTurn,
    };

    /// <summary>event: error with Anthropic's body (the relay closes the connection after it).</summary>
    public static void Error(IBufferWriter<byte> output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> message)
    {
        Event(output, "error"u8);
        output.Write("{\"type\":\"error\",\"error\":{\"type\":\""u8);
        output.Write(type);
        output.Write("\",\"message\":\""u8);
        output.Write(message);
        output.Write("\"}}\n\n"u8);
    }

    private static void Event(IBufferWriter<byte> output, ReadOnlySpan<byte> name)
    {
        output.Write("event: "u8);
        output.Write(name);
        output.Write("\ndata: "u8);
    }

    public override bool OnEnd(IBufferWriter<byte> output) => _stopped;

    public override void Dispose()
    {
        if (_held is not null)
        {
            foreach (var call in _held)
            {
                call.Arguments.Dispose();
            }
        }
    }
}
