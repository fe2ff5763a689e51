using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Gemini;

/// <summary>OpenAI's message list as Gemini's <c>contents</c>: read into turns of parts (merged by role), then written.</summary>
internal static class GeminiContents
{
    /// <summary>Tool-call ids the gateway made up for calls Gemini sent without one: never sent back as Gemini's own.</summary>
    public const string GeneratedIdPrefix = "call_gw";

    internal enum PartKind : byte
    {
        Text,
        InlineData,
        FileData,
        FunctionCall,
        FunctionResponse,
    }

    /// <param name="Content">Text; base64 data; a file URI; a call's arguments (a JSON object); a response (JSON object text or plain text).</param>
    /// <param name="Id">The id sent to Gemini (its own, never one the gateway made up); for a call, the client's id is <paramref name="CallId"/>.</param>
    /// <param name="CallId">The client's tool-call id: of the call, or of the call a response answers.</param>
    internal readonly record struct Part(PartKind Kind, string Content, string? Name = null, string? MimeType = null, string? Id = null, string? CallId = null);

    internal sealed class Turn(string role)
    {
        public string Role { get; } = role;

        public List<Part> Parts { get; } = [];
    }

    public static List<Turn> Read(JsonElement messages, RequestTranslation policy, out List<string>? system)
    {
        system = null;
        var turns = new List<Turn>();
        if (messages.ValueKind != JsonValueKind.Array)
        {
            return turns;
        }
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
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
                    if (!string.IsNullOrWhiteSpace(text))
                    {
                        if (leading)
                        {
                            (system ??= []).Add(text);
                        }
                        else
                        {
                            TurnFor(turns, "user").Parts.Add(new Part(PartKind.Text, text));
                        }
                    }
                    continue;
                case "user":
                    ReadUser(TurnFor(turns, "user"), content, at, policy);
                    break;
                case "assistant":
                    ReadAssistant(TurnFor(turns, "model"), message, content, at, policy, callNames);
                    break;
                case "tool":
                    var id = message.TryGetProperty("tool_call_id", out var callId) && callId.ValueKind == JsonValueKind.String ? callId.GetString()! : "";
                    if (!callNames.TryGetValue(id, out var name))
                    {
                        // Gemini attributes a result by the function's name: one whose call is unknown cannot be given to it.
                        policy.Invalid($"messages[{at}].tool_call_id", "does not match a tool call of an earlier assistant message");
                        break;
                    }
                    var result = RequestTranslation.TextOf(content);
                    TurnFor(turns, "user").Parts.Add(new Part(PartKind.FunctionResponse, result, name, Id: OwnId(id), CallId: id));
                    break;
                default:
                    policy.Unsupported($"messages[{at}].role", $"role '{role}' is not translated");
                    break;
            }
            leading = false;
        }
        turns.RemoveAll(t => t.Parts.Count == 0);
        OrderResponses(turns);
        return turns;
    }

    /// <summary>A user turn's function responses first, in the order of the calls they answer (Gemini pairs them by position).</summary>
    private static void OrderResponses(List<Turn> turns)
    {
        for (int t = 1; t < turns.Count; t++)
        {
            var calls = turns[t - 1].Parts;
            var parts = turns[t].Parts;
            if (turns[t].Role != "user" || !parts.Exists(p => p.Kind == PartKind.FunctionResponse))
            {
                continue;
            }
            var ordered = new List<Part>(parts.Count);
            foreach (var call in calls)
            {
                if (call.Kind == PartKind.FunctionCall)
                {
                    ordered.AddRange(parts.FindAll(p => p.Kind == PartKind.FunctionResponse && p.CallId == call.CallId));
                }
            }
            ordered.AddRange(parts.FindAll(p => p.Kind == PartKind.FunctionResponse && !ordered.Contains(p)));
            ordered.AddRange(parts.FindAll(p => p.Kind != PartKind.FunctionResponse));
            parts.Clear();
            parts.AddRange(ordered);
        }
    }

    /// <summary>The id to give back to Gemini: its own, never one the gateway made up.</summary>
    private static string? OwnId(string id) => id.Length == 0 || id.StartsWith(GeneratedIdPrefix, StringComparison.Ordinal) ? null : id;

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

    private static void ReadUser(Turn turn, JsonElement content, int at, RequestTranslation policy)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            var text = content.GetString()!;
            if (text.Length > 0)
            {
                turn.Parts.Add(new Part(PartKind.Text, text));
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
                        turn.Parts.Add(new Part(PartKind.Text, text));
                    }
                    break;
                case "image_url":
                    var url = part.TryGetProperty("image_url", out var image) && image.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String
                        ? u.GetString()! : "";
                    if (RequestTranslation.TryParseDataUrl(url, out var mediaType, out var data))
                    {
                        turn.Parts.Add(new Part(PartKind.InlineData, data, MimeType: mediaType));
                    }
                    else if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("gs://", StringComparison.OrdinalIgnoreCase))
                    {
                        turn.Parts.Add(new Part(PartKind.FileData, url, MimeType: MimeTypeOf(url)));
                    }
                    else
                    {
                        policy.Invalid($"messages[{at}].content[{partIndex}]", "needs a data:, https: or gs: URL");
                    }
                    break;
                case "input_audio":
                    if (part.TryGetProperty("input_audio", out var audio) && audio.TryGetProperty("data", out var audioData) && audioData.ValueKind == JsonValueKind.String)
                    {
                        var format = audio.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : "wav";
                        turn.Parts.Add(new Part(PartKind.InlineData, audioData.GetString()!, MimeType: format == "mp3" ? "audio/mp3" : "audio/wav"));
                    }
                    break;
                case "file":
                    if (part.TryGetProperty("file", out var file) && file.TryGetProperty("file_data", out var fileData) && fileData.ValueKind == JsonValueKind.String
                        && RequestTranslation.TryParseDataUrl(fileData.GetString()!, out var fileType, out var fileBytes))
                    {
                        turn.Parts.Add(new Part(PartKind.InlineData, fileBytes, MimeType: fileType));
                    }
                    else
                    {
                        policy.Unsupported($"messages[{at}].content[{partIndex}]", "only files sent as file_data are translated");
                    }
                    break;
                default:
                    policy.Unsupported($"messages[{at}].content[{partIndex}]", "this content part is not translated");
                    break;
            }
        }
    }

    private static void ReadAssistant(Turn turn, JsonElement message, JsonElement content, int at, RequestTranslation policy, Dictionary<string, string> callNames)
    {
        var text = RequestTranslation.TextOf(content);
        if (!string.IsNullOrWhiteSpace(text))
        {
            turn.Parts.Add(new Part(PartKind.Text, text));
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
            callNames[id] = name.GetString()!;
            turn.Parts.Add(new Part(PartKind.FunctionCall, arguments, name.GetString(), Id: OwnId(id), CallId: id));
        }
    }

    internal static bool IsJsonObject(string text)
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

    private static string MimeTypeOf(string url)
    {
        var path = url.Split('?')[0];
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => "image/png",
            ".gif" => "image/gif",
            ".webp" => "image/webp",
            ".pdf" => "application/pdf",
            _ => "image/jpeg",
        };
    }

    public static void Write(Utf8JsonWriter json, List<Turn> turns)
    {
        json.WriteStartArray("contents");
        foreach (var turn in turns)
        {
            json.WriteStartObject();
            json.WriteString("role", turn.Role);
            json.WriteStartArray("parts");
            bool signed = false;
            foreach (var part in turn.Parts)
            {
                json.WriteStartObject();
                switch (part.Kind)
                {
                    case PartKind.Text:
                        json.WriteString("text", part.Content);
                        break;
                    case PartKind.InlineData:
                        json.WriteStartObject("inlineData");
                        json.WriteString("mimeType", part.MimeType);
                        json.WriteString("data", part.Content);
                        json.WriteEndObject();
                        break;
                    case PartKind.FileData:
                        json.WriteStartObject("fileData");
                        json.WriteString("mimeType", part.MimeType);
                        json.WriteString("fileUri", part.Content);
                        json.WriteEndObject();
                        break;
                    case PartKind.FunctionCall:
                        json.WriteStartObject("functionCall");
                        json.WriteString("name", part.Name);
                        json.WritePropertyName("args");
                        json.WriteRawValue(part.Content);
                        if (part.Id is { } own)
                        {
                            json.WriteString("id", own);
                        }
                        json.WriteEndObject();
                        if (!signed)
                        {
                            // Gemini 3 wants the thought signature back on the first call of each model turn.
                            signed = true;
                            json.WriteString("thoughtSignature", SignatureCache.Shared.Find(part.CallId) ?? GeminiRequest.SkipSignature);
                        }
                        break;
                    case PartKind.FunctionResponse:
                        json.WriteStartObject("functionResponse");
                        json.WriteString("name", part.Name);
                        json.WritePropertyName("response");
                        if (IsJsonObject(part.Content))
                        {
                            json.WriteRawValue(part.Content);
                        }
                        else
                        {
                            json.WriteStartObject();
                            json.WriteString("output", part.Content);
                            json.WriteEndObject();
                        }
                        if (part.Id is { } id)
                        {
                            json.WriteString("id", id);
                        }
                        json.WriteEndObject();
                        break;
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
