using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Anthropic;

/// <summary>The fields of one Anthropic event, read in one forward pass in any key order; strings as raw (escaped) bytes.</summary>
internal readonly ref struct AnthropicEvent
{
    public readonly ReadOnlySpan<byte> Type;
    public readonly ReadOnlySpan<byte> MessageId;
    public readonly ReadOnlySpan<byte> Model;
    public readonly ReadOnlySpan<byte> BlockType;
    public readonly ReadOnlySpan<byte> BlockId;
    public readonly ReadOnlySpan<byte> BlockName;
    public readonly ReadOnlySpan<byte> DeltaType;
    public readonly ReadOnlySpan<byte> Text;
    public readonly ReadOnlySpan<byte> PartialJson;
    public readonly ReadOnlySpan<byte> Thinking;
    public readonly ReadOnlySpan<byte> Signature;
    public readonly ReadOnlySpan<byte> Data;
    public readonly ReadOnlySpan<byte> StopReason;
    public readonly ReadOnlySpan<byte> ErrorType;
    public readonly ReadOnlySpan<byte> ErrorMessage;
    public readonly int Index = -1;
    public readonly long InputTokens = -1, OutputTokens = -1, CacheRead = -1, CacheWrite = -1;
    public readonly bool Invalid;

    public AnthropicEvent(ReadOnlySpan<byte> json)
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
                if (reader.ValueTextEquals("type"u8))
                {
                    Type = Json.String(json, ref reader);
                }
                else if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    Index = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int index) ? index : -1;
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    bool entered = Json.EnterObject(ref reader);
                    while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("type"u8))
                        {
                            DeltaType = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("text"u8))
                        {
                            Text = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("partial_json"u8))
                        {
                            PartialJson = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("thinking"u8))
                        {
                            Thinking = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("signature"u8))
                        {
                            Signature = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("stop_reason"u8))
                        {
                            StopReason = Json.String(json, ref reader);
                        }
                        else
                        {
                            Json.Skip(ref reader);
                        }
                    }
                }
                else if (reader.ValueTextEquals("content_block"u8))
                {
                    bool entered = Json.EnterObject(ref reader);
                    while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("type"u8))
                        {
                            BlockType = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("id"u8))
                        {
                            BlockId = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("name"u8))
                        {
                            BlockName = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("thinking"u8))
                        {
                            Text = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("data"u8))
                        {
                            Data = Json.String(json, ref reader);
                        }
                        else
                        {
                            Json.Skip(ref reader);
                        }
                    }
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    bool entered = Json.EnterObject(ref reader);
                    while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("id"u8))
                        {
                            MessageId = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("model"u8))
                        {
                            Model = Json.String(json, ref reader);
                        }
                        else if (reader.ValueTextEquals("usage"u8))
                        {
                            ReadUsage(ref reader, out InputTokens, out OutputTokens, out CacheRead, out CacheWrite);
                        }
                        else
                        {
                            Json.Skip(ref reader);
                        }
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    ReadUsage(ref reader, out InputTokens, out OutputTokens, out CacheRead, out CacheWrite);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    bool entered = Json.EnterObject(ref reader);
                    while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("type"u8))
                        {
                            ErrorType = Json.String(json, ref reader);
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

    private static void ReadUsage(ref Utf8JsonReader reader, out long input, out long output, out long cacheRead, out long cacheWrite)
    {
        input = output = cacheRead = cacheWrite = -1;
        bool entered = Json.EnterObject(ref reader);
        while (entered && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ref long target = ref input;
            if (reader.ValueTextEquals("input_tokens"u8))
            {
                target = ref input;
            }
            else if (reader.ValueTextEquals("output_tokens"u8))
            {
                target = ref output;
            }
            else if (reader.ValueTextEquals("cache_read_input_tokens"u8))
            {
                target = ref cacheRead;
            }
            else if (reader.ValueTextEquals("cache_creation_input_tokens"u8))
            {
                target = ref cacheWrite;
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
            else
            {
                reader.Skip();
            }
        }
    }
}
