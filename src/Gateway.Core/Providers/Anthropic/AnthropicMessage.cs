using System.Buffers;
using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Anthropic;

/// <summary>
/// A whole Anthropic <c>Message</c> as an OpenAI <c>chat.completion</c>: text blocks joined into <c>content</c> (null
/// when there is none beside tool calls), <c>tool_use</c> blocks as <c>tool_calls</c> whose arguments are the input's
/// own bytes (key order kept), thinking dropped, the stop reason and usage mapped as in a stream.
/// </summary>
internal sealed class AnthropicMessage(long created) : BodyTranslator
{
    protected override bool TranslateDocument(JsonElement root, IBufferWriter<byte> output)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            return false;
        }
        using var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions);
        json.WriteStartObject();
        json.WriteString("id", root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : "msg_gateway");
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", created);
        json.WriteString("model", root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString() : "");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        var text = new System.Text.StringBuilder();
        bool hasText = false, hasTools = false;
        foreach (var block in content.EnumerateArray())
        {
            if (RequestTranslation.TypeOf(block) == "text" && block.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            {
                text.Append(t.GetString());
                hasText = true;
            }
            hasTools |= RequestTranslation.TypeOf(block) == "tool_use";
        }
        if (hasText || !hasTools)
        {
            json.WriteString("content", text.ToString());
        }
        else
        {
            json.WriteNull("content");
        }
        json.WriteNull("refusal");
        if (hasTools)
        {
            KeepThinking(content);
            json.WriteStartArray("tool_calls");
            foreach (var block in content.EnumerateArray())
            {
                if (RequestTranslation.TypeOf(block) != "tool_use")
                {
                    continue;
                }
                json.WriteStartObject();
                json.WriteString("id", block.TryGetProperty("id", out var callId) ? callId.GetString() : "");
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", block.TryGetProperty("name", out var name) ? name.GetString() : "");
                json.WriteString("arguments", block.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object ? input.GetRawText() : "{}");
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
        json.WriteNull("logprobs");
        var stop = root.TryGetProperty("stop_reason", out var reason) && reason.ValueKind == JsonValueKind.String
            ? AnthropicFinish.Parse(System.Text.Encoding.UTF8.GetBytes(reason.GetString()!))
            : StopReason.Other;
        json.WriteString("finish_reason", AnthropicFinish.ToOpenAi(stop));
        json.WriteEndObject();
        json.WriteEndArray();
        json.Flush();
        output.Write(","u8);
        ChunkWriter.WriteUsage(output, UsageOf(root));
        output.Write("}"u8);
        return true;
    }

    /// <summary>The message's signed thinking blocks, kept under its first tool call's id for the next turn (as a stream's are).</summary>
    private static void KeepThinking(JsonElement content)
    {
        var kept = new List<string>();
        string? firstTool = null;
        foreach (var block in content.EnumerateArray())
        {
            var type = RequestTranslation.TypeOf(block);
            if (type is "thinking" or "redacted_thinking")
            {
                kept.Add(block.GetRawText());
            }
            else if (type == "tool_use" && firstTool is null && block.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
            {
                firstTool = id.GetString();
            }
        }
        if (kept.Count > 0 && firstTool is not null)
        {
            SignatureCache.Shared.Remember(firstTool, "[" + string.Join(",", kept) + "]");
        }
    }

    private static TranslatedUsage UsageOf(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return new TranslatedUsage { CacheRead = 0 };
        }
        long input = Json.Count(usage, "input_tokens"), cacheRead = Json.Count(usage, "cache_read_input_tokens"), cacheWrite = Json.Count(usage, "cache_creation_input_tokens");
        return new TranslatedUsage
        {
            Prompt = input + cacheRead + cacheWrite,
            Completion = Json.Count(usage, "output_tokens"),
            Cached = cacheRead,
            CacheRead = cacheRead,
            CacheWrite = cacheWrite,
        };
    }
}
