using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Anthropic;

/// <summary>
/// OpenAI's message list as Anthropic's alternating turns. Read first into turns of blocks (so that same-role
/// messages merge and a user turn's tool results come first), then written. Blocks refer to the client's JSON;
/// nothing is re-parsed.
/// </summary>
internal static class AnthropicMessages
{
    internal enum BlockKind : byte
    {
        Text,
        ImageBase64,
        ImageUrl,
        Document,
        ToolUse,
        ToolResult,

        /// <summary>The signed thinking blocks Anthropic sent with a turn's tool calls, kept by the gateway (raw JSON array).</summary>
        Thinking,
    }

    /// <param name="Content">Text: the string; images and documents: data or url; tool_use: the arguments; tool_result: unused.</param>
    /// <param name="Source">tool_result: the tool message's content; text parts: the part (for cache_control).</param>
    internal readonly record struct Block(BlockKind Kind, string Content, string? Id = null, string? Name = null, string? MediaType = null, JsonElement Source = default);

    internal sealed class Turn(string role)
    {
        public string Role { get; } = role;

        public List<Block> Blocks { get; } = [];
    }

    /// <returns>The turns; <paramref name="system"/> gets the leading system and developer messages' text.</returns>
    public static List<Turn> Read(JsonElement messages, RequestTranslation policy, out List<string>? system)
    {
        system = null;
        var turns = new List<Turn>();
        if (messages.ValueKind != JsonValueKind.Array)
        {
            return turns;
        }
        bool leading = true;
        int i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            string role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
            message.TryGetProperty("content", out var content);
            int at = i++;
            switch (role)
            {
                case "system":
                case "developer":
                    var text = RequestTranslation.TextOf(content);
                    if (leading)
                    {
                        if (!string.IsNullOrWhiteSpace(text))
                        {
                            (system ??= []).Add(text);
                        }
                    }
                    else if (!string.IsNullOrWhiteSpace(text))
                    {
                        // Later instructions stay where they were said (hoisting would move them and change the cached prefix).
                        TurnFor(turns, "user").Blocks.Add(new Block(BlockKind.Text, text));
                    }
                    continue;
                case "user":
                    ReadUserContent(TurnFor(turns, "user"), content, at, policy);
                    break;
                case "assistant":
                    ReadAssistant(TurnFor(turns, "assistant"), message, content, at, policy);
                    break;
                case "tool":
                    var id = message.TryGetProperty("tool_call_id", out var callId) && callId.ValueKind == JsonValueKind.String ? callId.GetString()! : "";
                    TurnFor(turns, "user").Blocks.Add(new Block(BlockKind.ToolResult, "", RequestTranslation.SafeToolId(id), Source: content));
                    break;
                default:
                    policy.Unsupported($"messages[{at}].role", $"role '{role}' is not translated");
                    break;
            }
            leading = false;
        }
        Normalize(turns);
        return turns;
    }

    private static Turn TurnFor(List<Turn> turns, string role)
    {
        if (turns.Count > 0 && turns[^1].Role == role)
        {
            return turns[^1];
        }
        var turn = new Turn(role);
        turns.Add(turn);
        return turn;
    }

    private static void ReadUserContent(Turn turn, JsonElement content, int at, RequestTranslation policy)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            var text = content.GetString()!;
            if (text.Length > 0)
            {
                turn.Blocks.Add(new Block(BlockKind.Text, text));
            }
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            int partIndex = j++;
            switch (RequestTranslation.TypeOf(part))
            {
                case "text":
                    var text = part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
                    if (text.Length > 0)
                    {
                        turn.Blocks.Add(new Block(BlockKind.Text, text, Source: part));
                    }
                    break;
                case "image_url":
                    var url = part.TryGetProperty("image_url", out var image) && image.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String
                        ? u.GetString()! : "";
                    if (RequestTranslation.TryParseDataUrl(url, out var mediaType, out var data))
                    {
                        if (mediaType == "application/pdf")
                        {
                            turn.Blocks.Add(new Block(BlockKind.Document, data, MediaType: mediaType));
                        }
                        else if (AnthropicRequest.IsImageType(mediaType))
                        {
                            turn.Blocks.Add(new Block(BlockKind.ImageBase64, data, MediaType: mediaType));
                        }
                        else
                        {
                            policy.Invalid($"messages[{at}].content[{partIndex}]", $"is an image of type '{mediaType}' (supported: jpeg, png, gif, webp)");
                        }
                    }
                    else if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
                    {
                        turn.Blocks.Add(new Block(BlockKind.ImageUrl, url));
                    }
                    else
                    {
                        policy.Invalid($"messages[{at}].content[{partIndex}]", "needs a data: or http(s) URL");
                    }
                    break;
                case "file":
                    if (part.TryGetProperty("file", out var file) && file.TryGetProperty("file_data", out var fileData) && fileData.ValueKind == JsonValueKind.String
                        && RequestTranslation.TryParseDataUrl(fileData.GetString()!, out var fileType, out var fileBytes) && fileType == "application/pdf")
                    {
                        turn.Blocks.Add(new Block(BlockKind.Document, fileBytes, MediaType: fileType));
                    }
                    else
                    {
                        policy.Unsupported($"messages[{at}].content[{partIndex}]", "only PDF files sent as file_data are translated");
                    }
                    break;
                default:
                    policy.Unsupported($"messages[{at}].content[{partIndex}]", "audio and other parts are not translated");
                    break;
            }
        }
    }

    private static void ReadAssistant(Turn turn, JsonElement message, JsonElement content, int at, RequestTranslation policy)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            AddText(turn, content.GetString()!);
        }
        else if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in content.EnumerateArray())
            {
                var type = RequestTranslation.TypeOf(part);
                if ((type == "text" && part.TryGetProperty("text", out var t) || type == "refusal" && part.TryGetProperty("refusal", out t))
                    && t.ValueKind == JsonValueKind.String)
                {
                    AddText(turn, t.GetString()!);
                }
            }
        }
        if (!message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        int k = 0;
        foreach (var call in calls.EnumerateArray())
        {
            int callIndex = k++;
            if (!call.TryGetProperty("function", out var function) || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                policy.Invalid($"messages[{at}].tool_calls[{callIndex}]", "needs a function name");
                continue;
            }
            var arguments = function.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "";
            if (string.IsNullOrWhiteSpace(arguments))
            {
                arguments = "{}";
            }
            else if (!IsJsonObject(arguments))
            {
                policy.Invalid($"messages[{at}].tool_calls[{callIndex}].function.arguments", "is not a JSON object");
                continue;
            }
            var id = call.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : "";
            turn.Blocks.Add(new Block(BlockKind.ToolUse, arguments, RequestTranslation.SafeToolId(id), name.GetString()));
        }
    }

    private static void AddText(Turn turn, string text)
    {
        // Anthropic refuses empty text blocks; an assistant's "" beside its tool calls is no block at all.
        if (!string.IsNullOrWhiteSpace(text))
        {
            turn.Blocks.Add(new Block(BlockKind.Text, text));
        }
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Tool results first in their user turn; a result whose call is not in the assistant turn just before becomes
    /// plain text (Anthropic refuses it otherwise); empty turns go; a final assistant turn (a prefill) loses trailing
    /// whitespace, which Anthropic refuses.
    /// </summary>
    private static void Normalize(List<Turn> turns)
    {
        for (int t = 0; t < turns.Count; t++)
        {
            var turn = turns[t];
            if (turn.Role != "user")
            {
                continue;
            }
            var previous = t > 0 ? turns[t - 1] : null;
            for (int b = 0; b < turn.Blocks.Count; b++)
            {
                var block = turn.Blocks[b];
                if (block.Kind == BlockKind.ToolResult && (previous is null || !previous.Blocks.Exists(p => p.Kind == BlockKind.ToolUse && p.Id == block.Id)))
                {
                    turn.Blocks[b] = new Block(BlockKind.Text, $"Tool result ({block.Id}): {RequestTranslation.TextOf(block.Source)}");
                }
            }
            var ordered = turn.Blocks.FindAll(b => b.Kind == BlockKind.ToolResult);
            ordered.AddRange(turn.Blocks.FindAll(b => b.Kind != BlockKind.ToolResult));
            turn.Blocks.Clear();
            turn.Blocks.AddRange(ordered);
        }
        turns.RemoveAll(t => t.Blocks.Count == 0);
        foreach (var turn in turns)
        {
            // A tool-calling turn gets back the signed thinking it came with, first (Anthropic requires them together).
            if (turn.Role == "assistant" && turn.Blocks.Find(b => b.Kind == BlockKind.ToolUse) is { Id: { } id }
                && Translation.SignatureCache.Shared.Find(id) is { } thinking)
            {
                turn.Blocks.Insert(0, new Block(BlockKind.Thinking, thinking));
            }
        }
        if (turns.Count > 0 && turns[^1].Role == "assistant" && turns[^1].Blocks[^1] is { Kind: BlockKind.Text } last)
        {
            var trimmed = last.Content.TrimEnd();
            turns[^1].Blocks[^1] = last with { Content = trimmed };
        }
    }

    /// <summary>
    /// Extended thinking needs the last tool-calling turn's signed thinking blocks back (OpenAI clients do not carry
    /// them; the gateway kept them by tool-call id) and no prefill: otherwise it is left out for this request.
    /// </summary>
    public static bool AllowsThinking(List<Turn> turns) =>
        (turns.FindLast(t => t.Role == "assistant" && t.Blocks.Exists(b => b.Kind == BlockKind.ToolUse)) is not { } lastToolTurn
            || lastToolTurn.Blocks[0].Kind == BlockKind.Thinking)
        && (turns.Count == 0 || turns[^1].Role != "assistant");

    /// <returns>True when the history holds tool calls or results (Anthropic then needs tool definitions).</returns>
    public static bool Write(Utf8JsonWriter json, List<Turn> turns)
    {
        bool toolHistory = false;
        json.WriteStartArray("messages");
        foreach (var turn in turns)
        {
            json.WriteStartObject();
            json.WriteString("role", turn.Role);
            json.WriteStartArray("content");
            foreach (var block in turn.Blocks)
            {
                toolHistory |= block.Kind is BlockKind.ToolUse or BlockKind.ToolResult;
                WriteBlock(json, block);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        return toolHistory;
    }

    private static void WriteBlock(Utf8JsonWriter json, in Block block)
    {
        if (block.Kind == BlockKind.Thinking)
        {
            using var kept = JsonDocument.Parse(block.Content);
            foreach (var thinking in kept.RootElement.EnumerateArray())
            {
                thinking.WriteTo(json);
            }
            return;
        }
        json.WriteStartObject();
        switch (block.Kind)
        {
            case BlockKind.Text:
                json.WriteString("type", "text");
                json.WriteString("text", block.Content);
                if (block.Source.ValueKind == JsonValueKind.Object && block.Source.TryGetProperty("cache_control", out var cache))
                {
                    json.WritePropertyName("cache_control");
                    cache.WriteTo(json);
                }
                break;
            case BlockKind.ImageBase64:
            case BlockKind.Document:
                json.WriteString("type", block.Kind == BlockKind.Document ? "document" : "image");
                json.WriteStartObject("source");
                json.WriteString("type", "base64");
                json.WriteString("media_type", block.MediaType);
                json.WriteString("data", block.Content);
                json.WriteEndObject();
                break;
            case BlockKind.ImageUrl:
                json.WriteString("type", "image");
                json.WriteStartObject("source");
                json.WriteString("type", "url");
                json.WriteString("url", block.Content);
                json.WriteEndObject();
                break;
            case BlockKind.ToolUse:
                json.WriteString("type", "tool_use");
                json.WriteString("id", block.Id);
                json.WriteString("name", block.Name);
                json.WritePropertyName("input");
                using (var input = JsonDocument.Parse(block.Content))
                {
                    input.RootElement.WriteTo(json);
                }
                break;
            case BlockKind.ToolResult:
                json.WriteString("type", "tool_result");
                json.WriteString("tool_use_id", block.Id);
                WriteToolResultContent(json, block.Source);
                break;
        }
        json.WriteEndObject();
    }

    private static void WriteToolResultContent(Utf8JsonWriter json, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.Array)
        {
            json.WriteStartArray("content");
            foreach (var part in content.EnumerateArray())
            {
                if (RequestTranslation.TypeOf(part) == "text" && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                    && text.GetString()!.Length > 0)
                {
                    json.WriteStartObject();
                    json.WriteString("type", "text");
                    json.WritePropertyName("text");
                    text.WriteTo(json);
                    json.WriteEndObject();
                }
            }
            json.WriteEndArray();
            return;
        }
        json.WriteString("content", content.ValueKind == JsonValueKind.String ? content.GetString() : "");
    }
}
