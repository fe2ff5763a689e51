using System.Buffers;
using System.Text.Json;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers.Gemini;

/// <summary>
/// A Gemini <c>streamGenerateContent?alt=sse</c> stream as OpenAI chunks (docs/providers.md, "Gemini stream"): each
/// event is a whole response carrying only new parts. Text is copied still escaped; thought parts never reach
/// <c>content</c>; each <c>functionCall</c> becomes one whole tool-call delta, its index counted across chunks (never
/// the part's position), its id Gemini's or one made up; the finish waits for the end of the stream, mapped with
/// "a call was made" as stream state (Gemini says STOP for tool turns, sometimes in a later chunk); usage is the last
/// snapshot. A stream that ends without a finishReason is a truncation.
/// </summary>
internal sealed class GeminiStream : StreamTranslator
{
    private readonly ChunkWriter _chunks = new();
    private readonly long _created;
    private readonly ulong _idSeed;
    private readonly byte[] _id = new byte[32];
    private int _nextTool;
    private bool _roleSent;
    private bool _sawCall;
    private bool _complete;
    private GeminiFinish _finish = GeminiFinish.None;
    private TranslatedUsage _usage = new() { CacheRead = -1 };

    /// <param name="idSeed">Makes up the ids of calls Gemini sends without one (random in production, fixed in tests).</param>
    public GeminiStream(bool includeUsage, long created, ulong idSeed)
    {
        EmitUsage = includeUsage;
        _created = created;
        _idSeed = idSeed;
    }

    public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_complete || data.IsEmpty)
        {
            return;
        }
        var chunk = new GeminiChunk(data);
        if (chunk.Invalid)
        {
            Fail(output, "invalid_event"u8, "The provider sent an event that is not JSON."u8);
            return;
        }
        if (!chunk.ErrorStatus.IsEmpty || !chunk.ErrorMessage.IsEmpty)
        {
            Fail(output, chunk.ErrorStatus.IsEmpty ? "api_error"u8 : chunk.ErrorStatus, chunk.ErrorMessage);
            return;
        }
        if (!_chunks.Started)
        {
            _chunks.Start(chunk.ResponseId.IsEmpty ? "chatcmpl-gemini"u8 : chunk.ResponseId, chunk.ModelVersion, _created);
        }
        if (chunk.HasUsage)
        {
            _usage = chunk.Usage;
        }
        if (!chunk.BlockReason.IsEmpty && chunk.Candidates.IsEmpty)
        {
            if (_roleSent)
            {
                Failure = "blocked the prompt after content";
                return;
            }
            Refusal = new TranslationRefusal(GatewayError.ContentFilter, "The provider's safety filter blocked the prompt.", "prompt");
            ChunkWriter.Error(output, "invalid_request_error"u8, "content_filter"u8, "The provider's safety filter blocked the prompt."u8);
            _complete = true;
            return;
        }
        if (!chunk.Candidates.IsEmpty)
        {
            OnCandidates(chunk.Candidates, output);
        }
    }

    private void OnCandidates(ReadOnlySpan<byte> candidates, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(candidates);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var candidate = GeminiCandidate.Read(candidates, ref reader);
            if (candidate.Index != 0)
            {
                // n > 1 is refused on the way in: only candidate 0 is ever asked for.
                continue;
            }
            if (!candidate.Parts.IsEmpty)
            {
                OnParts(candidate.Parts, output);
            }
            if (!candidate.FinishReason.IsEmpty)
            {
                _finish = GeminiFinishes.Parse(candidate.FinishReason);
                if (GeminiFinishes.IsBrokenCall(_finish) && !_roleSent)
                {
                    // Nothing was answered: an unusable answer, which may still fall back.
                    Fail(output, "upstream_bad_response"u8, "The provider could not produce a valid function call."u8);
                }
            }
        }
    }

    private void OnParts(ReadOnlySpan<byte> parts, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(parts);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var part = GeminiPart.Read(parts, ref reader);
            if (!part.CallName.IsEmpty)
            {
                Visible(output);
                _sawCall = true;
                int index = _nextTool++;
                var id = part.CallId.IsEmpty ? GeneratedId(index) : part.CallId;
                _chunks.ToolWhole(output, index, id, part.CallName, part.CallArgs);
                if (!part.Signature.IsEmpty)
                {
                    SignatureCache.Shared.Remember(System.Text.Encoding.UTF8.GetString(id), System.Text.Encoding.UTF8.GetString(part.Signature));
                }
            }
            else if (!part.Text.IsEmpty && !part.Thought)
            {
                Visible(output);
                _chunks.Content(output, part.Text);
            }
            // thought parts, inlineData, executableCode, codeExecutionResult: not part of an OpenAI answer.
        }
    }

    /// <summary>"call_gw" + 16 hex digits: unique within the stream, recognisable as ours when the client sends it back.</summary>
    private ReadOnlySpan<byte> GeneratedId(int index)
    {
        "call_gw"u8.CopyTo(_id);
        System.Buffers.Text.Utf8Formatter.TryFormat(_idSeed + (ulong)index, _id.AsSpan(7), out int written, new StandardFormat('x', 16));
        return _id.AsSpan(0, 7 + written);
    }

    public override void Dispose() => _chunks.Dispose();

    public override bool OnEnd(IBufferWriter<byte> output)
    {
        if (_complete)
        {
            return true;
        }
        if (_finish == GeminiFinish.None)
        {
            return false;
        }
        Visible(output);
        _chunks.Finish(output, GeminiFinishes.ToOpenAi(_finish, _sawCall));
        if (EmitUsage)
        {
            _chunks.Usage(output, _usage);
        }
        ChunkWriter.Done(output);
        _complete = true;
        return true;
    }

    private void Fail(IBufferWriter<byte> output, ReadOnlySpan<byte> code, ReadOnlySpan<byte> message)
    {
        if (_roleSent)
        {
            Failure = $"sent an error after content ({System.Text.Encoding.UTF8.GetString(code)})";
            return;
        }
        ChunkWriter.Error(output, "server_error"u8, code, message);
        _complete = true;
    }

    private void Visible(IBufferWriter<byte> output)
    {
        if (!_chunks.Started)
        {
            _chunks.Start("chatcmpl-gemini"u8, default, _created);
        }
        if (!_roleSent)
        {
            _roleSent = true;
            _chunks.Role(output);
        }
    }
}
