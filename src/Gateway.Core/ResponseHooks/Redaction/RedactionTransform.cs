using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Config;

namespace Gateway.Core.ResponseHooks.Redaction;

/// <summary>
/// Applies the redaction patterns to generated text: the content of JSON answers, and the delta.content of stream
/// chunks. A stream holds back its last max_match_chars characters, so a match split across chunks (or events) is
/// still caught whole; what is held back goes out with the next chunk, the finish chunk, or before [DONE]. Every
/// rewritten event stays valid JSON.
/// </summary>
internal sealed class RedactionTransform : IBodyTransform
{
    // Non-ASCII text stays as the provider sent it (still valid JSON; quotes and controls are escaped).
    private static readonly JsonSerializerOptions s_json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly RedactConfig _config;
    private readonly StringBuilder _pending = new();
    private JsonNode? _lastChunk;

    public RedactionTransform(RedactConfig config) => _config = config;

    public void TransformEvent(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (data.SequenceEqual("[DONE]"u8))
        {
            FlushPending(output);
            WriteEvent(output, data);
            return;
        }
        JsonNode? chunk;
        try
        {
            chunk = JsonNode.Parse(data);
        }
        catch (JsonException)
        {
            WriteEvent(output, data);
            return;
        }
        var choice = chunk?["choices"] is JsonArray { Count: > 0 } choices ? choices[0] : null;
        var delta = choice?["delta"] as JsonObject;
        bool finishing = choice?["finish_reason"] is JsonValue finish && finish.GetValueKind() == JsonValueKind.String;
        if (chunk is null || delta is null)
        {
            if (finishing || chunk?["choices"] is JsonArray { Count: 0 })
            {
                FlushPending(output);
            }
            WriteEvent(output, data);
            return;
        }
        _lastChunk = chunk;
        if (delta["content"] is JsonValue content && content.GetValueKind() == JsonValueKind.String)
        {
            _pending.Append(content.GetValue<string>());
        }
        string release = finishing ? TakeAll() : TakeSettled();
        if (delta["content"] is not null || release.Length > 0)
        {
            delta["content"] = release;
        }
        WriteEvent(output, chunk.ToJsonString(s_json));
    }

    public void Finish(IBufferWriter<byte> output) => FlushPending(output);

    public void TransformBody(ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        JsonNode? answer;
        try
        {
            answer = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            output.Write(body);
            return;
        }
        if (answer?["choices"] is JsonArray choices)
        {
            foreach (var choice in choices)
            {
                if (choice?["message"]?["content"] is JsonValue content && content.GetValueKind() == JsonValueKind.String)
                {
                    choice["message"]!["content"] = Redact(content.GetValue<string>());
                }
                else if (choice?["text"] is JsonValue text && text.GetValueKind() == JsonValueKind.String)
                {
                    choice["text"] = Redact(text.GetValue<string>());
                }
            }
        }
        output.Write(Encoding.UTF8.GetBytes(answer!.ToJsonString(s_json)));
    }

    /// <summary>Everything but the last max_match_chars characters, extended past any match that crosses the cut.</summary>
    private string TakeSettled()
    {
        var text = _pending.ToString();
        int cut = Math.Max(0, text.Length - _config.MaxMatchChars);
        foreach (var pattern in _config.Patterns)
        {
            foreach (System.Text.RegularExpressions.Match match in pattern.Matches(text))
            {
                if (match.Index < cut && match.Index + match.Length > cut)
                {
                    cut = match.Index + match.Length;
                }
            }
        }
        _pending.Remove(0, cut);
        return Redact(text[..cut]);
    }

    private string TakeAll()
    {
        var text = _pending.ToString();
        _pending.Clear();
        return Redact(text);
    }

    private string Redact(string text)
    {
        foreach (var pattern in _config.Patterns)
        {
            text = pattern.Replace(text, _config.Replacement);
        }
        return text;
    }

    /// <summary>Text still held back when the stream ends without a finish chunk: sent as one more content chunk.</summary>
    private void FlushPending(IBufferWriter<byte> output)
    {
        if (_pending.Length == 0 || _lastChunk is null)
        {
            return;
        }
        var chunk = _lastChunk.DeepClone();
        var choice = chunk["choices"]![0]!;
        choice["delta"] = new JsonObject { ["content"] = TakeAll() };
        choice["finish_reason"] = null;
        WriteEvent(output, chunk.ToJsonString(s_json));
    }

    private static void WriteEvent(IBufferWriter<byte> output, string json) => WriteEvent(output, Encoding.UTF8.GetBytes(json));

    private static void WriteEvent(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        output.Write("data: "u8);
        output.Write(data);
        output.Write("\n\n"u8);
    }
}
