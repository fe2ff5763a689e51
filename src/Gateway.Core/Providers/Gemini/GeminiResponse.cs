using System.Buffers;
using System.Text.Json;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers.Gemini;

/// <summary>
/// A whole <c>GenerateContentResponse</c> as an OpenAI <c>chat.completion</c>, with the stream's rules: text parts that
/// are not thoughts joined into <c>content</c>, calls as <c>tool_calls</c> (arguments: the args object's own bytes),
/// STOP after a call is <c>tool_calls</c>, usage folded the same way; a blocked prompt is the client's error.
/// </summary>
internal sealed class GeminiResponse(long created, ulong idSeed) : BodyTranslator
{
    protected override bool TranslateDocument(JsonElement root, IBufferWriter<byte> output)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        bool hasCandidates = root.TryGetProperty("candidates", out var candidates) && candidates.ValueKind == JsonValueKind.Array && candidates.GetArrayLength() > 0;
        if (!hasCandidates)
        {
            if (root.TryGetProperty("promptFeedback", out var feedback) && feedback.TryGetProperty("blockReason", out _))
            {
                Refusal = new TranslationRefusal(GatewayError.ContentFilter, "The provider's safety filter blocked the prompt.", "prompt");
            }
            return false;
        }
        var candidate = candidates[0];
        var text = new System.Text.StringBuilder();
        var calls = new List<JsonElement>();
        if (candidate.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in parts.EnumerateArray())
            {
                if (part.TryGetProperty("functionCall", out var call))
                {
                    calls.Add(part);
                }
                else if (part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                    && !(part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True))
                {
                    text.Append(t.GetString());
                }
            }
        }
        var finish = candidate.TryGetProperty("finishReason", out var reason) && reason.ValueKind == JsonValueKind.String
            ? GeminiFinishes.Parse(System.Text.Encoding.UTF8.GetBytes(reason.GetString()!))
            : GeminiFinish.Other;
        if (GeminiFinishes.IsBrokenCall(finish) && text.Length == 0 && calls.Count == 0)
        {
            return false;
        }

        using var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions);
        json.WriteStartObject();
        json.WriteString("id", root.TryGetProperty("responseId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : "chatcmpl-gemini");
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", created);
        json.WriteString("model", root.TryGetProperty("modelVersion", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString() : "");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        if (text.Length > 0 || calls.Count == 0)
        {
            json.WriteString("content", text.ToString());
        }
        else
        {
            json.WriteNull("content");
        }
        json.WriteNull("refusal");
        if (calls.Count > 0)
        {
            json.WriteStartArray("tool_calls");
            for (int i = 0; i < calls.Count; i++)
            {
                var call = calls[i].GetProperty("functionCall");
                var callId = call.TryGetProperty("id", out var ownId) && ownId.ValueKind == JsonValueKind.String
                    ? ownId.GetString()!
                    : GeminiContents.GeneratedIdPrefix + (idSeed + (ulong)i).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
                if (calls[i].TryGetProperty("thoughtSignature", out var signature) && signature.ValueKind == JsonValueKind.String)
                {
                    SignatureCache.Shared.Remember(callId, signature.GetString()!);
                }
                json.WriteStartObject();
                json.WriteString("id", callId);
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", call.TryGetProperty("name", out var name) ? name.GetString() : "");
                json.WriteString("arguments", call.TryGetProperty("args", out var args) && args.ValueKind == JsonValueKind.Object ? args.GetRawText() : "{}");
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteString("finish_reason", GeminiFinishes.ToOpenAi(finish, calls.Count > 0));
        json.WriteEndObject();
        json.WriteEndArray();
        json.WritePropertyName("usage");
        var usage = UsageOf(root);
        var usageJson = new ArrayBufferWriter<byte>(256);
        ChunkWriter.WriteUsage(usageJson, usage);
        // WriteUsage writes "usage":{...}; the value starts after the name.
        json.WriteRawValue(usageJson.WrittenSpan["\"usage\":".Length..], skipInputValidation: true);
        json.WriteEndObject();
        return true;
    }

    /// <summary>usageMetadata folded as a stream's is (the same reader over its own bytes).</summary>
    private static TranslatedUsage UsageOf(JsonElement root)
    {
        if (!root.TryGetProperty("usageMetadata", out var metadata))
        {
            return new TranslatedUsage { CacheRead = -1 };
        }
        // ReadUsage reads the value that follows: a reader over the object itself starts right before it.
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(metadata.GetRawText()));
        return GeminiChunk.ReadUsage(ref reader);
    }
}
