using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>
/// One OpenAI chat-completion chunk, read in one forward pass: choice 0's delta, its finish reason, usage, an in-band
/// error. A stream's usual chunks take the <see cref="OpenAiChunkScanner"/>; the rest (usage, errors, the unusual) a
/// <see cref="Utf8JsonReader"/>.
/// </summary>
internal readonly ref struct OpenAiChunk
{
    public readonly ReadOnlySpan<byte> Id;
    public readonly ReadOnlySpan<byte> Content;
    public readonly ReadOnlySpan<byte> Reasoning;
    public readonly ReadOnlySpan<byte> ToolCalls;
    public readonly ReadOnlySpan<byte> FinishReason;
    public readonly ReadOnlySpan<byte> ErrorMessage;
    public readonly ReadOnlySpan<byte> ErrorCode;
    public readonly long PromptTokens, CompletionTokens, CachedTokens;
    public readonly bool HasUsage, NoChoices, IsError, Invalid;

    public OpenAiChunk(ReadOnlySpan<byte> json)
        : this(json, fastPath: true)
    {
    }

    /// <param name="fastPath">False: the reader path alone (the tests hold the two side by side).</param>
    internal OpenAiChunk(ReadOnlySpan<byte> json, bool fastPath)
    {
        var scanner = new OpenAiChunkScanner(json);
        if (fastPath && scanner.TryScan())
        {
            Id = scanner.Id;
            Content = scanner.Content;
            Reasoning = scanner.Reasoning;
            ToolCalls = scanner.ToolCalls;
            FinishReason = scanner.FinishReason;
            NoChoices = scanner.NoChoices;
            return;
        }
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                Invalid = true;
                return;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    Id = Json.String(json, ref reader);
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        reader.Skip();
                        continue;
                    }
                    NoChoices = true;
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                    {
                        NoChoices = false;
                        ReadChoice(json, ref reader, out Content, out Reasoning, out ToolCalls, out FinishReason);
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    HasUsage = ReadUsage(ref reader, out PromptTokens, out CompletionTokens, out CachedTokens);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    bool entered = Json.EnterObject(ref reader);
                    IsError = entered;
                    while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("message"u8))
                        {
                            ErrorMessage = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("code"u8))
                        {
                            ErrorCode = Json.String(json, ref reader);
                        }
                        else
                        {
                            Json.Skip(ref reader);
                        }
                    }
                }
                else
                {
                    Json.Skip(ref reader);
                }
            }
        }
        catch (JsonException)
        {
            Invalid = true;
        }
    }

    /// <summary>Reads one choice (the reader on its start) through its end; only choice 0 is asked for, the first one read counts.</summary>
    private static void ReadChoice(ReadOnlySpan<byte> json, scoped ref Utf8JsonReader reader, out ReadOnlySpan<byte> content, out ReadOnlySpan<byte> reasoning,
        out ReadOnlySpan<byte> toolCalls, out ReadOnlySpan<byte> finish)
    {
        content = reasoning = toolCalls = finish = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("finish_reason"u8))
            {
                finish = Json.String(json, ref reader);
            }
            else if (reader.ValueTextEquals("delta"u8) || reader.ValueTextEquals("message"u8))
            {
                bool entered = Json.EnterObject(ref reader);
                while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("content"u8))
                    {
                        content = Json.String(json, ref reader);
                    }
                    else if (reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8))
                    {
                        reasoning = Json.String(json, ref reader);
                    }
                    else if (reader.ValueTextEquals("tool_calls"u8))
                    {
                        reader.Read();
                        int start = (int)reader.TokenStartIndex;
                        bool isArray = reader.TokenType == JsonTokenType.StartArray;
                        reader.Skip();
                        toolCalls = isArray ? json[start..(int)reader.BytesConsumed] : default;
                    }
                    else
                    {
                        Json.Skip(ref reader);
                    }
                }
            }
            else
            {
                Json.Skip(ref reader);
            }
        }
    }

    private static bool ReadUsage(ref Utf8JsonReader reader, out long prompt, out long completion, out long cached)
    {
        prompt = completion = cached = 0;
        if (!Json.EnterObject(ref reader))
        {
            return false;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                prompt = Json.Int64(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                completion = Json.Int64(ref reader);
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                bool entered = Json.EnterObject(ref reader);
                while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("cached_tokens"u8))
                    {
                        cached = Json.Int64(ref reader);
                    }
                    else
                    {
                        Json.Skip(ref reader);
                    }
                }
            }
            else
            {
                Json.Skip(ref reader);
            }
        }
        return true;
    }
}

/// <summary>One entry of a delta's tool_calls: its index, and id, name and arguments fragment when present (raw bytes).</summary>
internal readonly ref struct OpenAiToolCall
{
    public readonly int Index;
    public readonly ReadOnlySpan<byte> Id;
    public readonly ReadOnlySpan<byte> Name;
    public readonly ReadOnlySpan<byte> Arguments;

    private OpenAiToolCall(int index, ReadOnlySpan<byte> id, ReadOnlySpan<byte> name, ReadOnlySpan<byte> arguments)
    {
        Index = index;
        Id = id;
        Name = name;
        Arguments = arguments;
    }

    public static OpenAiToolCall Read(ReadOnlySpan<byte> json, scoped ref Utf8JsonReader reader)
    {
        int index = 0;
        ReadOnlySpan<byte> id = default, name = default, arguments = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                index = (int)Math.Clamp(Json.Int64(ref reader), 0, int.MaxValue);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                id = Json.String(json, ref reader);
            }
            else if (reader.ValueTextEquals("function"u8))
            {
                bool entered = Json.EnterObject(ref reader);
                while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("name"u8))
                    {
                        name = Json.String(json, ref reader);
                    }
                    else if (reader.ValueTextEquals("arguments"u8))
                    {
                        arguments = Json.String(json, ref reader);
                    }
                    else
                    {
                        Json.Skip(ref reader);
                    }
                }
            }
            else
            {
                Json.Skip(ref reader);
            }
        }
        return new OpenAiToolCall(index, id, name, arguments);
    }
}
