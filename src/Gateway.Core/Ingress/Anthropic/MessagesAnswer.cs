using System.Buffers;
using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>
/// A whole OpenAI <c>chat.completion</c> as an Anthropic <c>Message</c> (translation.md §3.2): thinking (from
/// <c>reasoning_content</c>), then text, then <c>tool_use</c> blocks with parsed input and the client's tool names;
/// the stop reason as in a stream; usage with the cached share apart.
/// </summary>
internal sealed class MessagesAnswer(MessagesFacts facts) : BodyTranslator
{
    protected override bool TranslateDocument(JsonElement root, IBufferWriter<byte> output)
    {
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            return false;
        }
        var choice = choices[0];
        if (choice.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        choice.TryGetProperty("message", out var message);
        using var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions);
        json.WriteStartObject();
        json.WriteString("id", "msg_" + (root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : "gateway"));
        json.WriteString("type", "message");
        json.WriteString("role", "assistant");
        json.WriteString("model", facts.Model);
        json.WriteStartArray("content");
        foreach (var field in (ReadOnlySpan<string>)["reasoning_content", "reasoning"])
        {
            if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty(field, out var reasoning) && reasoning.ValueKind == JsonValueKind.String
                && reasoning.GetString()!.Length > 0)
            {
                json.WriteStartObject();
                json.WriteString("type", "thinking");
                json.WritePropertyName("thinking");
                reasoning.WriteTo(json);
                json.WriteString("signature", "");
                json.WriteEndObject();
                break;
            }
        }
        if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
            && content.GetString()!.Length > 0)
        {
            json.WriteStartObject();
            json.WriteString("type", "text");
            json.WritePropertyName("text");
            content.WriteTo(json);
            json.WriteEndObject();
        }
        bool sawTool = false;
        if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            foreach (var call in calls.EnumerateArray())
            {
                if (call.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }
                sawTool = true;
                call.TryGetProperty("function", out var function);
                var name = function.ValueKind == JsonValueKind.Object && function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                json.WriteStartObject();
                json.WriteString("type", "tool_use");
                json.WriteString("id", call.TryGetProperty("id", out var callId) && callId.ValueKind == JsonValueKind.String ? callId.GetString() : "");
                json.WriteString("name", facts.ToolNames is { } names && names.TryGetValue(name, out var original) ? original : name);
                json.WritePropertyName("input");
                WriteInput(json, function.ValueKind == JsonValueKind.Object && function.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String
                    ? a.GetString() : null);
                json.WriteEndObject();
            }
        }
        json.WriteEndArray();
        var finish = choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : "stop";
        json.WriteString("stop_reason", MessagesStream.StopReason(System.Text.Encoding.UTF8.GetBytes(finish), sawTool));
        json.WriteNull("stop_sequence");
        long prompt = 0, completion = 0, cached = 0;
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            prompt = Json.Count(usage, "prompt_tokens");
            completion = Json.Count(usage, "completion_tokens");
            cached = usage.TryGetProperty("prompt_tokens_details", out var d) && d.ValueKind == JsonValueKind.Object ? Json.Count(d, "cached_tokens") : 0;
        }
        json.WriteStartObject("usage");
        json.WriteNumber("input_tokens", prompt - cached);
        json.WriteNumber("output_tokens", completion);
        json.WriteNumber("cache_creation_input_tokens", 0);
        json.WriteNumber("cache_read_input_tokens", cached);
        json.WriteEndObject();
        json.WriteEndObject();
        return true;
    }

    /// <summary>Tool arguments as the input object; unparsable ones as {} (the client's SDK parses input).</summary>
    private static void WriteInput(Utf8JsonWriter json, string? arguments)
    {
        if (!string.IsNullOrWhiteSpace(arguments))
        {
            try
            {
                using var input = JsonDocument.Parse(arguments);
                if (input.RootElement.ValueKind == JsonValueKind.Object)
                {
                    input.RootElement.WriteTo(json);
                    return;
                }
            }
            catch (JsonException)
            {
            }
        }
        json.WriteStartObject();
        json.WriteEndObject();
    }
}
