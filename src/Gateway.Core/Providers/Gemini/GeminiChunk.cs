using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Gemini;

/// <summary>
/// One <c>GenerateContentResponse</c>'s top level, read in one forward pass in any key order: the candidates as a span
/// (read again in order once id and model are known, since Gemini sends them after the candidates), usage, the
/// prompt's block reason, an in-band error. Strings are raw (escaped) bytes of the event.
/// </summary>
internal readonly ref struct GeminiChunk
{
    public readonly ReadOnlySpan<byte> Candidates;
    public readonly ReadOnlySpan<byte> ResponseId;
    public readonly ReadOnlySpan<byte> ModelVersion;
    public readonly ReadOnlySpan<byte> BlockReason;
    public readonly ReadOnlySpan<byte> ErrorStatus;
    public readonly ReadOnlySpan<byte> ErrorMessage;
    public readonly TranslatedUsage Usage;
    public readonly bool HasUsage;
    public readonly bool Invalid;

    public GeminiChunk(ReadOnlySpan<byte> json)
    {
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
                if (reader.ValueTextEquals("candidates"u8))
                {
                    reader.Read();
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    Candidates = json[start..(int)reader.BytesConsumed];
                }
                else if (reader.ValueTextEquals("responseId"u8))
                {
                    ResponseId = Json.String(json, ref reader);
                }
                else if (reader.ValueTextEquals("modelVersion"u8))
                {
                    ModelVersion = Json.String(json, ref reader);
                }
                else if (reader.ValueTextEquals("usageMetadata"u8))
                {
                    Usage = ReadUsage(ref reader);
                    HasUsage = true;
                }
                else if (reader.ValueTextEquals("promptFeedback"u8))
                {
                    bool entered = Json.EnterObject(ref reader);
                    while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("blockReason"u8))
                        {
                            BlockReason = Json.String(json, ref reader);
                        }
                        else
                        {
                            Json.Skip(ref reader);
                        }
                    }
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    bool entered = Json.EnterObject(ref reader);
                    while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("status"u8))
                        {
                            ErrorStatus = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("message"u8))
                        {
                            ErrorMessage = Json.String(json, ref reader);
                        }
                        else
                        {
                            Json.Skip(ref reader);
                        }
                    }
                    if (ErrorStatus.IsEmpty && ErrorMessage.IsEmpty)
                    {
                        ErrorStatus = "UNKNOWN"u8;
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

    /// <summary>usageMetadata folded into OpenAI's terms: thoughts are completion tokens (and reasoning), tool-use prompt tokens are prompt tokens.</summary>
    internal static TranslatedUsage ReadUsage(ref Utf8JsonReader reader)
    {
        long prompt = 0, candidates = 0, thoughts = 0, cached = 0, toolPrompt = 0;
        bool entered = Json.EnterObject(ref reader);
        while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ref long target = ref prompt;
            if (reader.ValueTextEquals("promptTokenCount"u8))
            {
                target = ref prompt;
            }
            else if (reader.ValueTextEquals("candidatesTokenCount"u8))
            {
                target = ref candidates;
            }
            else if (reader.ValueTextEquals("thoughtsTokenCount"u8))
            {
                target = ref thoughts;
            }
            else if (reader.ValueTextEquals("cachedContentTokenCount"u8))
            {
                target = ref cached;
            }
            else if (reader.ValueTextEquals("toolUsePromptTokenCount"u8))
            {
                target = ref toolPrompt;
            }
            else
            {
                Json.Skip(ref reader);
                continue;
            }
            reader.Read();
            if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long count))
            {
                target = count;
            }
        }
        return new TranslatedUsage
        {
            Prompt = prompt + toolPrompt,
            Completion = candidates + thoughts,
            Cached = cached,
            Reasoning = thoughts,
            CacheRead = -1,
        };
    }
}

/// <summary>One candidate: its index, its parts (a span, read in order by the caller) and its finish reason.</summary>
internal readonly ref struct GeminiCandidate
{
    public readonly int Index;
    public readonly ReadOnlySpan<byte> Parts;
    public readonly ReadOnlySpan<byte> FinishReason;

    private GeminiCandidate(int index, ReadOnlySpan<byte> parts, ReadOnlySpan<byte> finishReason)
    {
        Index = index;
        Parts = parts;
        FinishReason = finishReason;
    }

    /// <summary>Reads the candidate object the reader is on (its start) through its end.</summary>
    public static GeminiCandidate Read(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
    {
        int index = 0;
        ReadOnlySpan<byte> parts = default, finish = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                index = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int i) ? i : 0;
            }
            else if (reader.ValueTextEquals("finishReason"u8))
            {
                finish = Json.String(json, ref reader);
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                bool entered = Json.EnterObject(ref reader);
                while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("parts"u8))
                    {
                        reader.Read();
                        int start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        parts = reader.TokenType == JsonTokenType.EndArray ? json[start..(int)reader.BytesConsumed] : default;
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
        return new GeminiCandidate(index, parts, finish);
    }
}

/// <summary>One part: text (and whether it is a thought), or a function call with its arguments' raw object bytes.</summary>
internal readonly ref struct GeminiPart
{
    public readonly ReadOnlySpan<byte> Text;
    public readonly bool Thought;
    public readonly ReadOnlySpan<byte> CallName;
    public readonly ReadOnlySpan<byte> CallArgs;
    public readonly ReadOnlySpan<byte> CallId;
    public readonly ReadOnlySpan<byte> Signature;

    private GeminiPart(ReadOnlySpan<byte> text, bool thought, ReadOnlySpan<byte> name, ReadOnlySpan<byte> args, ReadOnlySpan<byte> id, ReadOnlySpan<byte> signature)
    {
        Text = text;
        Thought = thought;
        CallName = name;
        CallArgs = args;
        CallId = id;
        Signature = signature;
    }

    public static GeminiPart Read(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> text = default, name = default, args = default, id = default, signature = default;
        bool thought = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("text"u8))
            {
                text = Json.String(json, ref reader);
            }
            else if (reader.ValueTextEquals("thought"u8))
            {
                reader.Read();
                thought = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("thoughtSignature"u8))
            {
                signature = Json.String(json, ref reader);
            }
            else if (reader.ValueTextEquals("functionCall"u8))
            {
                bool entered = Json.EnterObject(ref reader);
                while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("name"u8))
                    {
                        name = Json.String(json, ref reader);
                    }
                    else if (reader.ValueTextEquals("id"u8))
                    {
                        id = Json.String(json, ref reader);
                    }
                    else if (reader.ValueTextEquals("args"u8))
                    {
                        reader.Read();
                        int start = (int)reader.TokenStartIndex;
                        bool isObject = reader.TokenType == JsonTokenType.StartObject;
                        reader.Skip();
                        args = isObject ? json[start..(int)reader.BytesConsumed] : default;
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
        return new GeminiPart(text, thought, name, args, id, signature);
    }
}
