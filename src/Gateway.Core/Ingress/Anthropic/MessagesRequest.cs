using System.Buffers;
using System.Text.Json;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>What the answer's translation back to Anthropic's format needs from the client's request.</summary>
/// <param name="Model">The model as the client named it (answers carry it back).</param>
/// <param name="ToolNames">Tool names shortened for OpenAI's 64-character limit → the client's own; null when none was.</param>
/// <param name="Dropped">What the translation left out, comma-separated (X-Gateway-Dropped-Params); null when nothing.</param>
internal sealed record MessagesFacts(string Model, Dictionary<string, string>? ToolNames, string? Dropped);

/// <summary>
/// An Anthropic Messages request (<c>POST /v1/messages</c>) as an OpenAI chat-completions request, the gateway's pivot
/// (translation.md §3.1): one system message (blocks joined), tool results as <c>tool</c> messages before the user's
/// other blocks, tool calls with their input as arguments, long tool names shortened (restored in the answer), the
/// usage always asked for in streams. Everything after this — routing, strategies, any provider type — is the
/// OpenAI path.
/// </summary>
internal static class MessagesRequest
{
    // OpenAI's limit on function names; Claude Code's MCP tools (mcp__server__tool) can be longer.
    private const int MaxToolName = 64;

    /// <param name="countOnly">A count_tokens request: no max_tokens is asked for.</param>
    /// <returns>The OpenAI body (pooled: the caller disposes it), or the refusal (the client's 400, in Anthropic's shape).</returns>
    public static (PooledBufferWriter? Body, MessagesFacts? Facts, TranslationRefusal? Refusal) Build(ReadOnlySequence<byte> anthropic, bool countOnly = false)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(anthropic, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return (null, null, new TranslationRefusal(GatewayError.InvalidJson, "The request body is not valid JSON.", null));
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null, new TranslationRefusal(GatewayError.InvalidBodyType, "The request body must be a JSON object.", null));
            }
            if (!root.TryGetProperty("model", out var modelElement) || modelElement.ValueKind != JsonValueKind.String)
            {
                return (null, null, new TranslationRefusal(GatewayError.MissingModel, "The request needs a model.", "model"));
            }
            if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                return (null, null, new TranslationRefusal(GatewayError.InvalidParameter, "'messages' must be an array of messages.", "messages"));
            }
            if ((!root.TryGetProperty("max_tokens", out var maxTokens) || maxTokens.ValueKind != JsonValueKind.Number) && !countOnly)
            {
                return (null, null, new TranslationRefusal(GatewayError.InvalidParameter, "'max_tokens' is required.", "max_tokens"));
            }
            var output = new PooledBufferWriter((int)Math.Min(anthropic.Length + 256, 1 << 20));
            try
            {
                List<string>? dropped = null;
                Dictionary<string, string>? names = null;
                bool stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
                using (var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions))
                {
                    json.WriteStartObject();
                    json.WritePropertyName("model");
                    modelElement.WriteTo(json);
                    json.WriteStartArray("messages");
                    if (root.TryGetProperty("system", out var system))
                    {
                        WriteSystem(json, system);
                    }
                    foreach (var message in messages.EnumerateArray())
                    {
                        MessagesTurns.Write(json, message, ref names);
                    }
                    json.WriteEndArray();
                    if (maxTokens.ValueKind == JsonValueKind.Number)
                    {
                        json.WritePropertyName("max_tokens");
                        maxTokens.WriteTo(json);
                    }
                    foreach (var property in root.EnumerateObject())
                    {
                        switch (MemberOf(property))
                        {
                            case Member.Written:
                                break;
                            case Member.Temperature:
                                json.WritePropertyName("temperature"u8);
                                property.Value.WriteTo(json);
                                break;
                            case Member.TopP:
                                json.WritePropertyName("top_p"u8);
                                property.Value.WriteTo(json);
                                break;
                            case Member.StopSequences:
                                json.WritePropertyName("stop");
                                property.Value.WriteTo(json);
                                break;
                            case Member.Metadata:
                                if (property.Value.TryGetProperty("user_id", out var user) && user.ValueKind == JsonValueKind.String)
                                {
                                    json.WritePropertyName("user");
                                    user.WriteTo(json);
                                }
                                break;
                            case Member.Tools:
                                MessagesTurns.WriteTools(json, property.Value, ref dropped, ref names);
                                break;
                            case Member.ToolChoice:
                                WriteToolChoice(json, property.Value, names);
                                break;
                            case Member.OutputConfig:
                                if (property.Value.TryGetProperty("format", out var format) && format.TryGetProperty("schema", out var schema))
                                {
                                    json.WriteStartObject("response_format");
                                    json.WriteString("type", "json_schema");
                                    json.WriteStartObject("json_schema");
                                    json.WriteString("name", "output");
                                    json.WritePropertyName("schema");
                                    schema.WriteTo(json);
                                    json.WriteBoolean("strict", true);
                                    json.WriteEndObject();
                                    json.WriteEndObject();
                                }
                                break;
                            default:
                                // thinking (not every upstream reasons), top_k, service_tier, container, mcp_servers...
                                (dropped ??= []).Add(property.Name);
                                break;
                        }
                    }
                    if (stream)
                    {
                        json.WriteBoolean("stream", true);
                        // Anthropic's message_delta carries usage: always ask the upstream for it.
                        json.WriteStartObject("stream_options");
                        json.WriteBoolean("include_usage", true);
                        json.WriteEndObject();
                    }
                    json.WriteEndObject();
                }
                var facts = new MessagesFacts(modelElement.GetString()!, names, dropped is null ? null : string.Join(",", dropped));
                return (output, facts, null);
            }
            catch (InvalidOperationException e)
            {
                // A member of the wrong kind inside (a message or block that is not an object, a number for a name):
                // the client's 400, not the gateway's 500.
                output.Dispose();
                return (null, null, new TranslationRefusal(GatewayError.InvalidParameter, "The request is not a valid Messages request: " + e.Message, null));
            }
        }
    }

    private enum Member
    {
        Other,
        Written,
        Temperature,
        TopP,
        StopSequences,
        Metadata,
        Tools,
        ToolChoice,
        OutputConfig,
    }

    /// <summary>What a top-level member is, by its UTF-8 name (a name string is made only for one that is dropped).</summary>
    private static Member MemberOf(JsonProperty property) =>
        property.NameEquals("model"u8) || property.NameEquals("messages"u8) || property.NameEquals("system"u8)
            || property.NameEquals("max_tokens"u8) || property.NameEquals("stream"u8) ? Member.Written
        : property.NameEquals("temperature"u8) ? Member.Temperature
        : property.NameEquals("top_p"u8) ? Member.TopP
        : property.NameEquals("stop_sequences"u8) ? Member.StopSequences
        : property.NameEquals("metadata"u8) ? Member.Metadata
        : property.NameEquals("tools"u8) ? Member.Tools
        : property.NameEquals("tool_choice"u8) ? Member.ToolChoice
        : property.NameEquals("output_config"u8) ? Member.OutputConfig
        : Member.Other;

    /// <summary>A system prompt as one system message (several system messages are refused by some servers); none when empty.</summary>
    private static void WriteSystem(Utf8JsonWriter json, JsonElement system)
    {
        bool plain = system.ValueKind == JsonValueKind.String;
        var text = plain ? null : SystemText(system);
        if (plain ? system.ValueEquals(""u8) : text!.Length == 0)
        {
            return;
        }
        json.WriteStartObject();
        json.WriteString("role", "system");
        json.WritePropertyName("content");
        if (plain)
        {
            system.WriteTo(json);
        }
        else
        {
            json.WriteStringValue(text);
        }
        json.WriteEndObject();
    }

    /// <summary>System blocks as one string: their texts joined with a blank line.</summary>
    private static string SystemText(JsonElement system)
    {
        if (system.ValueKind != JsonValueKind.Array)
        {
            return "";
        }
        var parts = new List<string>();
        foreach (var block in system.EnumerateArray())
        {
            if (block.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String && text.GetString()!.Length > 0)
            {
                parts.Add(text.GetString()!);
            }
        }
        return string.Join("\n\n", parts);
    }

    private static void WriteToolChoice(Utf8JsonWriter json, JsonElement choice, Dictionary<string, string>? names)
    {
        var type = RequestTranslation.TypeOf(choice);
        json.WritePropertyName("tool_choice");
        switch (type)
        {
            case "any":
                json.WriteStringValue("required");
                break;
            case "none":
                json.WriteStringValue("none");
                break;
            case "tool" when choice.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String:
                json.WriteStartObject();
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", ShortName(name.GetString()!, names));
                json.WriteEndObject();
                json.WriteEndObject();
                break;
            default:
                json.WriteStringValue("auto");
                break;
        }
        if (choice.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind == JsonValueKind.True)
        {
            json.WriteBoolean("parallel_tool_calls", false);
        }
    }

    /// <summary>A tool name within OpenAI's limit: as it is, or cut with a short hash of the whole (the same for the same name).</summary>
    public static string ShortName(string name, Dictionary<string, string>? names)
    {
        if (name.Length <= MaxToolName)
        {
            return name;
        }
        uint hash = 2166136261;
        foreach (char c in name)
        {
            hash = (hash ^ c) * 16777619;
        }
        var shortened = name[..(MaxToolName - 9)] + "_" + hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        names?.TryAdd(shortened, name);
        return shortened;
    }
}
