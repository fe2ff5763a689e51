using System.Buffers;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Anthropic;

/// <summary>
/// An OpenAI chat-completions request as an Anthropic Messages request (docs/providers.md has the full table):
/// system and developer messages hoisted (leading) or inlined (later), turns of the same role merged, tool results
/// as <c>tool_result</c> blocks first in a user turn, tool calls as <c>tool_use</c> with parsed input, images as
/// base64 or url sources, <c>max_tokens</c> always set, <c>reasoning_effort</c> as a thinking budget, and every
/// parameter Anthropic cannot honour refused or dropped by the provider's policy.
/// </summary>
internal static class AnthropicRequest
{
    // reasoning_effort → thinking budget (tokens); the budget is added to the answer's own max_tokens.
    private const int LowBudget = 1024;
    private const int MediumBudget = 4096;
    private const int HighBudget = 16384;

    private static readonly JsonDocument s_none = JsonDocument.Parse("\"none\"");

    private static readonly string[] s_mediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    public static TranslatedRequest Build(ReadOnlySequence<byte> body, ReadOnlySpan<byte> model, NativeOptions options, long created)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var policy = new RequestTranslation("anthropic", options.UnsupportedParams);
        var messages = default(JsonElement);
        bool stream = false, includeUsage = false;
        long? maxTokens = null, maxCompletionTokens = null;
        double? temperature = null;
        JsonElement topP = default, stop = default, tools = default, toolChoice = default, responseFormat = default;
        string? effort = null, user = null;
        bool parallelOff = false;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "model":
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
                    maxTokens = value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
                    break;
                case "max_completion_tokens":
                    maxCompletionTokens = value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
                    break;
                case "temperature":
                    temperature = value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
                    break;
                case "top_p":
                    topP = value;
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
                case "parallel_tool_calls":
                    parallelOff = value.ValueKind == JsonValueKind.False;
                    break;
                case "response_format":
                    responseFormat = value;
                    break;
                case "reasoning_effort":
                    effort = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                    break;
                case "user":
                case "safety_identifier":
                    user = value.ValueKind == JsonValueKind.String ? value.GetString() : user;
                    break;
                default:
                    // seed, logit_bias, penalties, service_tier...: hints without an Anthropic equivalent.
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

        int budget = effort switch
        {
            "low" => LowBudget,
            "medium" => MediumBudget,
            "high" or "xhigh" => HighBudget,
            _ => 0,
        };
        long answerTokens = maxCompletionTokens ?? maxTokens ?? options.DefaultMaxTokens;
        bool thinking = budget > 0;
        if (temperature > 1)
        {
            if (options.UnsupportedParams == UnsupportedParams.Drop)
            {
                temperature = 1;
                policy.Drop("temperature");
            }
            else
            {
                policy.Invalid("temperature", "must be at most 1 for Anthropic models");
            }
        }

        var output = new PooledBufferWriter((int)Math.Min(body.Length + 256, 1 << 20));
        using (var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions))
        {
            json.WriteStartObject();
            json.WritePropertyName("model");
            json.WriteStringValue(model);
            var turns = AnthropicMessages.Read(messages, policy, out var system);
            if (responseFormat.ValueKind == JsonValueKind.Object && RequestTranslation.TypeOf(responseFormat) == "json_object")
            {
                // No JSON mode without a schema in Messages: the instruction is the documented way.
                (system ??= []).Add("Respond with one valid JSON object and nothing else.");
            }
            if (system is { Count: > 0 })
            {
                json.WriteStartArray("system");
                foreach (var text in system)
                {
                    json.WriteStartObject();
                    json.WriteString("type", "text");
                    json.WriteString("text", text);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            if (thinking && !AnthropicMessages.AllowsThinking(turns))
            {
                thinking = false;
                policy.Drop("reasoning_effort");
            }
            bool hasToolHistory = AnthropicMessages.Write(json, turns);
            json.WriteNumber("max_tokens", answerTokens + (thinking ? budget : 0));
            if (thinking)
            {
                json.WriteStartObject("thinking");
                json.WriteString("type", "enabled");
                json.WriteNumber("budget_tokens", budget);
                json.WriteEndObject();
                if (temperature is not null)
                {
                    policy.Drop("temperature");
                }
            }
            else if (temperature is { } t)
            {
                json.WriteNumber("temperature", t);
            }
            if (topP.ValueKind == JsonValueKind.Number && (!thinking || topP.GetDouble() >= 0.95))
            {
                json.WritePropertyName("top_p");
                topP.WriteTo(json);
            }
            WriteStop(json, stop);
            if (stream)
            {
                json.WriteBoolean("stream", true);
            }
            WriteTools(json, tools, toolChoice, parallelOff, thinking, hasToolHistory, policy);
            if (responseFormat.ValueKind == JsonValueKind.Object && RequestTranslation.TypeOf(responseFormat) == "json_schema"
                && responseFormat.TryGetProperty("json_schema", out var wrapper) && wrapper.TryGetProperty("schema", out var schema))
            {
                json.WriteStartObject("output_config");
                json.WriteStartObject("format");
                json.WriteString("type", "json_schema");
                json.WritePropertyName("schema");
                schema.WriteTo(json);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            if (user is not null)
            {
                json.WriteStartObject("metadata");
                json.WriteString("user_id", RequestTranslation.SafeUserId(user));
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

    private static void WriteStop(Utf8JsonWriter json, JsonElement stop)
    {
        if (stop.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return;
        }
        bool open = false;
        foreach (var item in stop.ValueKind == JsonValueKind.String ? [stop] : stop.EnumerateArray().ToArray())
        {
            // Anthropic refuses whitespace-only stop sequences.
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
            {
                continue;
            }
            if (!open)
            {
                json.WriteStartArray("stop_sequences");
                open = true;
            }
            item.WriteTo(json);
        }
        if (open)
        {
            json.WriteEndArray();
        }
    }

    private static void WriteTools(
        Utf8JsonWriter json, JsonElement tools, JsonElement toolChoice, bool parallelOff, bool thinking, bool hasToolHistory, RequestTranslation policy)
    {
        bool any = false;
        if (tools.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                if (RequestTranslation.TypeOf(tool) != "function" || !tool.TryGetProperty("function", out var function) || !function.TryGetProperty("name", out var name)
                    || name.ValueKind != JsonValueKind.String)
                {
                    policy.Unsupported($"tools[{i}]", "only function tools are translated");
                    i++;
                    continue;
                }
                if (!IsToolName(name.GetString()!))
                {
                    policy.Invalid($"tools[{i}].function.name", "must be 1-128 letters, digits, '_' or '-'");
                }
                if (!any)
                {
                    json.WriteStartArray("tools");
                    any = true;
                }
                json.WriteStartObject();
                json.WritePropertyName("name");
                name.WriteTo(json);
                if (function.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String)
                {
                    json.WritePropertyName("description");
                    description.WriteTo(json);
                }
                json.WritePropertyName("input_schema");
                if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
                {
                    parameters.WriteTo(json);
                }
                else
                {
                    json.WriteRawValue("{\"type\":\"object\",\"properties\":{}}"u8, skipInputValidation: true);
                }
                if (tool.TryGetProperty("cache_control", out var cache) || function.TryGetProperty("cache_control", out cache))
                {
                    json.WritePropertyName("cache_control");
                    cache.WriteTo(json);
                }
                json.WriteEndObject();
                i++;
            }
        }
        if (!any && hasToolHistory)
        {
            // Anthropic refuses tool_use/tool_result history without tool definitions: a tool that is never offered for use.
            json.WriteStartArray("tools");
            json.WriteRawValue("""{"name":"gateway_tool_history","description":"Not callable: earlier tool calls in this conversation were made with tools that are not offered now.","input_schema":{"type":"object","properties":{}}}"""u8, skipInputValidation: true);
            any = true;
            if (toolChoice.ValueKind == JsonValueKind.Undefined)
            {
                toolChoice = s_none.RootElement;
            }
        }
        if (any)
        {
            json.WriteEndArray();
        }
        string? choice = toolChoice.ValueKind == JsonValueKind.String ? toolChoice.GetString() : null;
        string? forced = toolChoice.ValueKind == JsonValueKind.Object && toolChoice.TryGetProperty("function", out var f)
            && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        if (thinking && (choice == "required" || forced is not null))
        {
            // Anthropic refuses a forced tool with extended thinking: the model may still call it, it is not made to.
            choice = "auto";
            forced = null;
            policy.Drop("tool_choice");
        }
        if (choice is null && forced is null && !parallelOff)
        {
            return;
        }
        if (!any && choice != "none")
        {
            return;
        }
        json.WriteStartObject("tool_choice");
        if (forced is not null)
        {
            json.WriteString("type", "tool");
            json.WriteString("name", forced);
        }
        else
        {
            json.WriteString("type", choice switch { "none" => "none", "required" => "any", _ => "auto" });
        }
        if (parallelOff && choice != "none")
        {
            json.WriteBoolean("disable_parallel_tool_use", true);
        }
        json.WriteEndObject();
    }

    private static bool IsToolName(string name)
    {
        if (name.Length is 0 or > 128)
        {
            return false;
        }
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    internal static bool IsImageType(string mediaType) => Array.IndexOf(s_mediaTypes, mediaType) >= 0;
}
