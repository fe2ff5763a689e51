using System.Text;
using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>Anthropic's turns and tools written as OpenAI's messages and tools (translation.md §3.1).</summary>
internal static class MessagesTurns
{
    public static void Write(Utf8JsonWriter json, JsonElement message, ref Dictionary<string, string>? names)
    {
        message.TryGetProperty("content", out var content);
        if (message.TryGetProperty("role", out var role) && role.ValueKind == JsonValueKind.String && role.ValueEquals("assistant"u8))
        {
            WriteAssistant(json, content, ref names);
        }
        else
        {
            WriteUser(json, content);
        }
    }

    private static void WriteUser(Utf8JsonWriter json, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            json.WriteStartObject();
            json.WriteString("role", "user");
            json.WritePropertyName("content");
            content.WriteTo(json);
            json.WriteEndObject();
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        // Tool results first, as tool messages; images inside them follow as a user message of their own.
        var resultImages = new List<JsonElement>();
        foreach (var block in content.EnumerateArray())
        {
            if (RequestTranslation.TypeOf(block) != "tool_result")
            {
                continue;
            }
            json.WriteStartObject();
            json.WriteString("role", "tool");
            json.WriteString("tool_call_id", block.TryGetProperty("tool_use_id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : "");
            var text = new StringBuilder();
            if (block.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True)
            {
                text.Append("Error: ");
            }
            if (block.TryGetProperty("content", out var result))
            {
                if (result.ValueKind == JsonValueKind.String)
                {
                    text.Append(result.GetString());
                }
                else if (result.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in result.EnumerateArray())
                    {
                        var type = RequestTranslation.TypeOf(part);
                        if (type == "text" && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                        {
                            text.Append(text.Length > 0 && text[^1] != ' ' ? "\n" : "").Append(t.GetString());
                        }
                        else if (type == "image")
                        {
                            resultImages.Add(part);
                        }
                    }
                }
            }
            json.WriteString("content", text.ToString());
            json.WriteEndObject();
        }
        var others = new List<JsonElement>();
        foreach (var block in content.EnumerateArray())
        {
            if (RequestTranslation.TypeOf(block) is "text" or "image" or "document")
            {
                others.Add(block);
            }
        }
        if (resultImages.Count > 0)
        {
            json.WriteStartObject();
            json.WriteString("role", "user");
            json.WriteStartArray("content");
            foreach (var image in resultImages)
            {
                WritePart(json, image);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        if (others.Count == 0)
        {
            return;
        }
        json.WriteStartObject();
        json.WriteString("role", "user");
        if (others.Count == 1 && RequestTranslation.TypeOf(others[0]) == "text" && others[0].TryGetProperty("text", out var only))
        {
            json.WritePropertyName("content");
            only.WriteTo(json);
        }
        else
        {
            json.WriteStartArray("content");
            foreach (var part in others)
            {
                WritePart(json, part);
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    /// <summary>A text, image or document block as an OpenAI content part.</summary>
    private static void WritePart(Utf8JsonWriter json, JsonElement block)
    {
        var type = RequestTranslation.TypeOf(block);
        if (type == "text")
        {
            json.WriteStartObject();
            json.WriteString("type", "text");
            json.WritePropertyName("text");
            (block.TryGetProperty("text", out var text) ? text : default).WriteTo(json);
            json.WriteEndObject();
            return;
        }
        block.TryGetProperty("source", out var source);
        var sourceType = RequestTranslation.TypeOf(source);
        string url = sourceType switch
        {
            "base64" => $"data:{(source.TryGetProperty("media_type", out var media) ? media.GetString() : "application/octet-stream")};base64,{(source.TryGetProperty("data", out var data) ? data.GetString() : "")}",
            "url" => source.TryGetProperty("url", out var u) ? u.GetString() ?? "" : "",
            _ => "",
        };
        if (type == "document" && sourceType == "text" && source.TryGetProperty("data", out var plain))
        {
            json.WriteStartObject();
            json.WriteString("type", "text");
            json.WritePropertyName("text");
            plain.WriteTo(json);
            json.WriteEndObject();
            return;
        }
        json.WriteStartObject();
        if (type == "document")
        {
            json.WriteString("type", "file");
            json.WriteStartObject("file");
            json.WriteString("file_data", url);
            json.WriteString("filename", "document.pdf");
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("type", "image_url");
            json.WriteStartObject("image_url");
            json.WriteString("url", url);
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static void WriteAssistant(Utf8JsonWriter json, JsonElement content, ref Dictionary<string, string>? names)
    {
        json.WriteStartObject();
        json.WriteString("role", "assistant");
        if (content.ValueKind == JsonValueKind.String)
        {
            json.WritePropertyName("content");
            content.WriteTo(json);
            json.WriteEndObject();
            return;
        }
        var text = new StringBuilder();
        bool calls = false;
        if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var block in content.EnumerateArray())
            {
                var type = RequestTranslation.TypeOf(block);
                if (type == "text" && block.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                {
                    text.Append(t.GetString());
                }
                calls |= type == "tool_use";
            }
        }
        if (text.Length > 0 || !calls)
        {
            json.WriteString("content", text.ToString());
        }
        else
        {
            json.WriteNull("content");
        }
        if (calls)
        {
            json.WriteStartArray("tool_calls");
            foreach (var block in content.EnumerateArray())
            {
                if (RequestTranslation.TypeOf(block) != "tool_use")
                {
                    continue;
                }
                json.WriteStartObject();
                json.WriteString("id", block.TryGetProperty("id", out var id) ? id.GetString() : "");
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                var name = block.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                json.WriteString("name", MessagesRequest.ShortName(name, names ??= new Dictionary<string, string>(StringComparer.Ordinal)));
                json.WriteString("arguments", block.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object ? input.GetRawText() : "{}");
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    /// <summary>Client tools as OpenAI functions (long names shortened); server tools (web search, bash...) are left out and named.</summary>
    public static void WriteTools(Utf8JsonWriter json, JsonElement tools, ref List<string>? dropped, ref Dictionary<string, string>? names)
    {
        if (tools.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        bool open = false;
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var type = RequestTranslation.TypeOf(tool);
            if (type is not (null or "custom") || !tool.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                (dropped ??= []).Add($"tools[{i++}]");
                continue;
            }
            i++;
            if (!open)
            {
                json.WriteStartArray("tools");
                open = true;
            }
            json.WriteStartObject();
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", MessagesRequest.ShortName(name.GetString()!, names ??= new Dictionary<string, string>(StringComparer.Ordinal)));
            if (tool.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String)
            {
                json.WritePropertyName("description");
                description.WriteTo(json);
            }
            json.WritePropertyName("parameters");
            if (tool.TryGetProperty("input_schema", out var schema) && schema.ValueKind == JsonValueKind.Object)
            {
                schema.WriteTo(json);
            }
            else
            {
                json.WriteRawValue("{\"type\":\"object\",\"properties\":{}}"u8, skipInputValidation: true);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        if (open)
        {
            json.WriteEndArray();
        }
    }
}
