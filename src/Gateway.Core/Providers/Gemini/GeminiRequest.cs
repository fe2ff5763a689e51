using System.Buffers;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Gemini;

/// <summary>
/// An OpenAI chat-completions request as a Gemini <c>generateContent</c> request: system and developer messages as
/// <c>systemInstruction</c> (leading) or user text (later), turns merged by role (<c>model</c> for the assistant),
/// tool calls as <c>functionCall</c> parts of one Content (the first carrying a thought signature), tool results as
/// <c>functionResponse</c> parts named after the call they answer, tools with their JSON Schema as
/// <c>parametersJsonSchema</c>, the sampling parameters in <c>generationConfig</c>.
/// </summary>
internal static class GeminiRequest
{
    /// <summary>Gemini's documented placeholder when a call's real thought signature is not known: validation is skipped instead of failing the turn.</summary>
    public const string SkipSignature = "skip_thought_signature_validator";

    private const int MaxStopSequences = 5;

    public static TranslatedRequest Build(ReadOnlySequence<byte> body, NativeOptions options, long created)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var policy = new RequestTranslation("gemini", options.UnsupportedParams);
        JsonElement messages = default, tools = default, toolChoice = default, stop = default, responseFormat = default;
        bool stream = false, includeUsage = false;
        long? maxTokens = null;
        string? effort = null;
        var generation = new List<(string Name, JsonElement Value)>();
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "model":
                case "parallel_tool_calls":
                case "user":
                case "safety_identifier":
                    break;
                case "messages":
                    messages = value;
                    break;
                case "stream":
                    stream = value.ValueKind == JsonValueKind.True;
                    break;
                case "stream_options":
                    includeUsage = value.ValueKind == JsonValueKind.Object && value.TryGetProperty("include_usage", out var u) && u.ValueKind == JsonValueKind.True;
                    break;
                case "max_tokens":
                case "max_completion_tokens":
                    maxTokens = value.ValueKind == JsonValueKind.Number ? (property.Name == "max_completion_tokens" ? value.GetInt64() : maxTokens ?? value.GetInt64()) : maxTokens;
                    break;
                case "temperature":
                    generation.Add(("temperature", value));
                    break;
                case "top_p":
                    generation.Add(("topP", value));
                    break;
                case "seed":
                    generation.Add(("seed", value));
                    break;
                case "presence_penalty":
                    generation.Add(("presencePenalty", value));
                    break;
                case "frequency_penalty":
                    generation.Add(("frequencyPenalty", value));
                    break;
                case "stop":
                    stop = value;
                    break;
                case "tools":
                    tools = value;
                    break;
                case "tool_choice":
                    toolChoice = value;
                    break;
                case "response_format":
                    responseFormat = value;
                    break;
                case "reasoning_effort":
                    effort = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                    break;
                default:
                    policy.Other(property);
                    break;
            }
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            policy.Invalid("messages", "must be an array of messages");
        }
        if (policy.Refusal is { } early)
        {
            return TranslatedRequest.Refuse(early.Error, early.Message, early.Param);
        }

        var output = new PooledBufferWriter((int)Math.Min(body.Length + 256, 1 << 20));
        using (var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions))
        {
            json.WriteStartObject();
            var turns = GeminiContents.Read(messages, policy, out var system);
            if (system is { Count: > 0 })
            {
                json.WriteStartObject("systemInstruction");
                json.WriteStartArray("parts");
                foreach (var text in system)
                {
                    json.WriteStartObject();
                    json.WriteString("text", text);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            GeminiContents.Write(json, turns);
            WriteTools(json, tools, toolChoice, policy);
            int? budget = effort switch
            {
                "none" or "minimal" => 0,
                "low" => 1024,
                "medium" => 8192,
                "high" or "xhigh" => 24576,
                _ => null,
            };
            bool hasFormat = RequestTranslation.TypeOf(responseFormat) is "json_object" or "json_schema";
            if (maxTokens is not null || generation.Count > 0 || stop.ValueKind is JsonValueKind.String or JsonValueKind.Array || hasFormat || budget is not null)
            {
                json.WriteStartObject("generationConfig");
                if (maxTokens is { } max)
                {
                    json.WriteNumber("maxOutputTokens", max);
                }
                foreach (var (name, value) in generation)
                {
                    if (value.ValueKind == JsonValueKind.Number)
                    {
                        json.WritePropertyName(name);
                        value.WriteTo(json);
                    }
                }
                WriteStop(json, stop, policy);
                WriteResponseFormat(json, responseFormat);
                if (budget is { } thinking)
                {
                    json.WriteStartObject("thinkingConfig");
                    json.WriteNumber("thinkingBudget", thinking);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        if (policy.Refusal is { } refusal)
        {
            output.Dispose();
            return TranslatedRequest.Refuse(refusal.Error, refusal.Message, refusal.Param);
        }
        return new TranslatedRequest(output, new RequestFacts(includeUsage, policy.Dropped, created));
    }

    private static void WriteStop(Utf8JsonWriter json, JsonElement stop, RequestTranslation policy)
    {
        if (stop.ValueKind == JsonValueKind.String)
        {
            json.WriteStartArray("stopSequences");
            stop.WriteTo(json);
            json.WriteEndArray();
        }
        else if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() > 0)
        {
            if (stop.GetArrayLength() > MaxStopSequences)
            {
                policy.Invalid("stop", $"may hold at most {MaxStopSequences} sequences for Gemini");
            }
            json.WritePropertyName("stopSequences");
            stop.WriteTo(json);
        }
    }

    private static void WriteResponseFormat(Utf8JsonWriter json, JsonElement format)
    {
        switch (RequestTranslation.TypeOf(format))
        {
            case "json_object":
                json.WriteString("responseMimeType", "application/json");
                break;
            case "json_schema":
                json.WriteString("responseMimeType", "application/json");
                if (format.TryGetProperty("json_schema", out var wrapper) && wrapper.TryGetProperty("schema", out var schema))
                {
                    json.WritePropertyName("responseJsonSchema");
                    schema.WriteTo(json);
                }
                break;
        }
    }

    private static void WriteTools(Utf8JsonWriter json, JsonElement tools, JsonElement toolChoice, RequestTranslation policy)
    {
        if (tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
        {
            json.WriteStartArray("tools");
            json.WriteStartObject();
            json.WriteStartArray("functionDeclarations");
            int i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                if (RequestTranslation.TypeOf(tool) != "function" || !tool.TryGetProperty("function", out var function)
                    || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    policy.Unsupported($"tools[{i++}]", "only function tools are translated");
                    continue;
                }
                if (!IsFunctionName(name.GetString()!))
                {
                    policy.Invalid($"tools[{i}].function.name", "must start with a letter or '_' and hold at most 64 letters, digits, '_', '.', ':' or '-'");
                }
                json.WriteStartObject();
                json.WritePropertyName("name");
                name.WriteTo(json);
                if (function.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String)
                {
                    json.WritePropertyName("description");
                    description.WriteTo(json);
                }
                if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
                {
                    // JSON Schema as the client wrote it: no reduction to Gemini's older OpenAPI subset.
                    json.WritePropertyName("parametersJsonSchema");
                    parameters.WriteTo(json);
                }
                json.WriteEndObject();
                i++;
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
        }
        string? mode = toolChoice.ValueKind == JsonValueKind.String ? toolChoice.GetString() : null;
        string? forced = toolChoice.ValueKind == JsonValueKind.Object && toolChoice.TryGetProperty("function", out var f)
            && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        if (mode is null && forced is null)
        {
            return;
        }
        json.WriteStartObject("toolConfig");
        json.WriteStartObject("functionCallingConfig");
        json.WriteString("mode", forced is not null ? "ANY" : mode switch { "none" => "NONE", "required" => "ANY", _ => "AUTO" });
        if (forced is not null)
        {
            json.WriteStartArray("allowedFunctionNames");
            json.WriteStringValue(forced);
            json.WriteEndArray();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static bool IsFunctionName(string name)
    {
        if (name.Length is 0 or > 64 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ':' or '-'))
            {
                return false;
            }
        }
        return true;
    }
}
