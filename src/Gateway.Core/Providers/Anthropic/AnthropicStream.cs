using System.Buffers;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Anthropic;

/// <summary>
/// An Anthropic Messages stream as OpenAI chunks (docs/providers.md, "Anthropic stream"): the role chunk waits for the
/// first content, so an error right after <c>message_start</c> still falls back; text and argument fragments are
/// copied still escaped; tool calls get indices 0..n-1 in order of first appearance (never the block index), id and
/// name only on their first delta, <c>"{}"</c> when no argument came; thinking never reaches <c>content</c>; the
/// finish, the usage chunk and <c>[DONE]</c> go out only at <c>message_stop</c> — a stream cut before it is a truncation.
/// </summary>
internal sealed class AnthropicStream : StreamTranslator
{
    private enum BlockKind : byte
    {
        Ignored,
        Text,
        Tool,
        Thinking,
    }

    private readonly ChunkWriter _chunks = new();
    private readonly long _created;
    private BlockKind[] _kinds = new BlockKind[8];
    private int[] _toolIndex = new int[8];
    private bool[] _argumentsSeen = new bool[8];
    private int _nextTool;
    private bool _roleSent;
    private bool _complete;
    private StopReason _stop;
    private long _input, _output, _cacheRead, _cacheWrite;

    // The answer's signed thinking blocks as raw JSON (only when the answer has any): kept under its first tool call's
    // id, so the next turn can give them back (Anthropic requires them with a tool result when thinking is on).
    private PooledBufferWriter? _thinking;
    private bool _signed;
    private bool _thinkingKept;

    public AnthropicStream(bool includeUsage, long created)
    {
        EmitUsage = includeUsage;
        _created = created;
    }

    /// <summary>The usage folded into OpenAI's terms (prompt includes cache reads and writes).</summary>
    private TranslatedUsage Usage => new()
    {
        Prompt = _input + _cacheRead + _cacheWrite,
        Completion = _output,
        Cached = _cacheRead,
        CacheRead = _cacheRead,
        CacheWrite = _cacheWrite,
    };

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_complete || name.SequenceEqual("ping"u8))
        {
            return;
        }
        var e = new AnthropicEvent(data);
        if (e.Invalid)
        {
            Fail(output, "invalid_event"u8, "The provider sent an event that is not JSON."u8);
            return;
        }
        var type = name.IsEmpty ? e.Type : name;
        if (type.SequenceEqual("content_block_delta"u8))
        {
            OnDelta(e, output);
        }
        else if (type.SequenceEqual("content_block_start"u8))
        {
            OnBlockStart(e, output);
        }
        else if (type.SequenceEqual("content_block_stop"u8))
        {
            if (KindOf(e.Index) == BlockKind.Tool && !_argumentsSeen[e.Index])
            {
                _chunks.ToolArguments(output, _toolIndex[e.Index], "{}"u8);
            }
            else if (KindOf(e.Index) == BlockKind.Thinking)
            {
                _thinking!.Write(_signed ? "\"}"u8 : "\",\"signature\":\"\"}"u8);
                _kinds[e.Index] = BlockKind.Ignored;
            }
        }
        else if (type.SequenceEqual("message_start"u8))
        {
            Start(e.MessageId, e.Model);
            TakeUsage(e);
        }
        else if (type.SequenceEqual("message_delta"u8))
        {
            if (!e.StopReason.IsEmpty)
            {
                _stop = AnthropicFinish.Parse(e.StopReason);
            }
            TakeUsage(e);
        }
        else if (type.SequenceEqual("message_stop"u8))
        {
            OnStop(output);
        }
        else if (type.SequenceEqual("error"u8))
        {
            Fail(output, e.ErrorType.IsEmpty ? "api_error"u8 : e.ErrorType, e.ErrorMessage);
        }
        // Unknown event types: the API adds them; none changes the answer.
    }

    private void OnBlockStart(in AnthropicEvent e, IBufferWriter<byte> output)
    {
        int index = e.Index;
        if (index < 0 || index > 4096)
        {
            return;
        }
        Grow(index);
        if (e.BlockType.SequenceEqual("text"u8))
        {
            _kinds[index] = BlockKind.Text;
            if (!e.Text.IsEmpty)
            {
                Visible(output);
                _chunks.Content(output, e.Text);
            }
        }
        else if (e.BlockType.SequenceEqual("tool_use"u8))
        {
            _kinds[index] = BlockKind.Tool;
            _toolIndex[index] = _nextTool++;
            _argumentsSeen[index] = false;
            if (_thinking is { WrittenCount: > 0 } && !_thinkingKept)
            {
                _thinkingKept = true;
                SignatureCache.Shared.Remember(System.Text.Encoding.UTF8.GetString(e.BlockId), "[" + System.Text.Encoding.UTF8.GetString(_thinking.WrittenSpan) + "]");
            }
            Visible(output);
            _chunks.ToolStart(output, _toolIndex[index], e.BlockId, e.BlockName, default);
        }
        else if (e.BlockType.SequenceEqual("thinking"u8) || e.BlockType.SequenceEqual("redacted_thinking"u8))
        {
            // Never part of an OpenAI answer; kept for the next turn.
            _kinds[index] = BlockKind.Thinking;
            var thinking = _thinking ??= new PooledBufferWriter(1024);
            if (thinking.WrittenCount > 0)
            {
                thinking.Write(","u8);
            }
            if (e.BlockType.SequenceEqual("thinking"u8))
            {
                thinking.Write("{\"type\":\"thinking\",\"thinking\":\""u8);
                thinking.Write(e.Text);
                _signed = false;
            }
            else
            {
                thinking.Write("{\"type\":\"redacted_thinking\",\"data\":\""u8);
                thinking.Write(e.Data);
                thinking.Write("\"}"u8);
                _kinds[index] = BlockKind.Ignored;
            }
        }
        else
        {
            // Server tools and blocks added later: not part of an OpenAI answer.
            _kinds[index] = BlockKind.Ignored;
        }
    }

    private void OnDelta(in AnthropicEvent e, IBufferWriter<byte> output)
    {
        switch (KindOf(e.Index))
        {
            case BlockKind.Text when e.DeltaType.SequenceEqual("text_delta"u8) && !e.Text.IsEmpty:
                Visible(output);
                _chunks.Content(output, e.Text);
                break;
            case BlockKind.Tool when e.DeltaType.SequenceEqual("input_json_delta"u8) && !e.PartialJson.IsEmpty:
                _argumentsSeen[e.Index] = true;
                _chunks.ToolArguments(output, _toolIndex[e.Index], e.PartialJson);
                break;
            case BlockKind.Thinking when e.DeltaType.SequenceEqual("thinking_delta"u8):
                _thinking!.Write(e.Thinking);
                break;
            case BlockKind.Thinking when e.DeltaType.SequenceEqual("signature_delta"u8) && !_signed:
                _signed = true;
                _thinking!.Write("\",\"signature\":\""u8);
                _thinking!.Write(e.Signature);
                break;
        }
        // citations_delta and unknown deltas: never content.
    }

    private void OnStop(IBufferWriter<byte> output)
    {
        Visible(output);
        _chunks.Finish(output, AnthropicFinish.ToOpenAi(_stop));
        if (EmitUsage)
        {
            _chunks.Usage(output, Usage);
        }
        ChunkWriter.Done(output);
        _complete = true;
    }

    /// <summary>An error from the provider: before any content an error event (a failure the chain may still fall back from), after it a broken stream.</summary>
    private void Fail(IBufferWriter<byte> output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> message)
    {
        if (_roleSent)
        {
            Failure = $"sent an error event after content ({System.Text.Encoding.UTF8.GetString(type)})";
            return;
        }
        ChunkWriter.Error(output, "server_error"u8, type, message);
        _complete = true;
    }

    public override void Dispose()
    {
        _chunks.Dispose();
        _thinking?.Dispose();
    }

    public override bool OnEnd(IBufferWriter<byte> output) => _complete;

    /// <summary>The first client-visible output: the role chunk goes first (held until now, the commit point).</summary>
    private void Visible(IBufferWriter<byte> output)
    {
        if (!_chunks.Started)
        {
            Start(default, default);
        }
        if (!_roleSent)
        {
            _roleSent = true;
            _chunks.Role(output);
        }
    }

    private void Start(ReadOnlySpan<byte> id, ReadOnlySpan<byte> model)
    {
        if (!_chunks.Started)
        {
            _chunks.Start(id.IsEmpty ? "msg_gateway"u8 : id, model, _created);
        }
    }

    private void TakeUsage(in AnthropicEvent e)
    {
        // Every count is a running total: the latest non-null value wins (compatible providers report input only at the end).
        if (e.InputTokens >= 0)
        {
            _input = e.InputTokens;
        }
        if (e.OutputTokens >= 0)
        {
            _output = e.OutputTokens;
        }
        if (e.CacheRead >= 0)
        {
            _cacheRead = e.CacheRead;
        }
        if (e.CacheWrite >= 0)
        {
            _cacheWrite = e.CacheWrite;
        }
    }

    private BlockKind KindOf(int index) => index >= 0 && index < _kinds.Length ? _kinds[index] : BlockKind.Ignored;

    private void Grow(int index)
    {
        if (index < _kinds.Length)
        {
            return;
        }
        int size = Math.Max(_kinds.Length * 2, index + 1);
        Array.Resize(ref _kinds, size);
        Array.Resize(ref _toolIndex, size);
        Array.Resize(ref _argumentsSeen, size);
    }
}
