using System.Text;
using System.Text.Json;

namespace Gateway.Core.ResponseHooks;

/// <summary>Reads usage, finish reason and generated text from an OpenAI-shaped answer: a JSON body or an event stream.</summary>
internal static class UsageParser
{
    /// <param name="withText">Also assemble the generated text (allocates); usage alone allocates nothing per chunk.</param>
    public static (TokenUsage? Usage, string? FinishReason, string? Text) FromJson(ReadOnlySpan<byte> body, bool withText = true)
    {
        TokenUsage? usage = null;
        string? finish = null;
        StringBuilder? text = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            ReadChunk(ref reader, ref usage, ref finish, ref text, "message"u8, withText);
        }
        catch (JsonException)
        {
            // A truncated or foreign body: whatever was read before the error stands.
        }
        return (usage, finish, text?.ToString());
    }

    /// <param name="withText">Also assemble the generated text (allocates); usage alone allocates nothing per chunk.</param>
    public static (TokenUsage? Usage, string? FinishReason, string? Text) FromEvents(ReadOnlySpan<byte> stream, bool withText = true)
    {
        TokenUsage? usage = null;
        string? finish = null;
        StringBuilder? text = null;
        while (Proxy.Sse.SseLineFramer.NextLine(ref stream, out var line))
        {
            if (!Proxy.Sse.SseLine.TryGetData(line, out var payload))
            {
                continue;
            }
            payload = payload.Trim((byte)' ');
            if (payload.IsEmpty || payload[0] != (byte)'{')
            {
                continue;
            }
            // Without text, only the chunks that carry usage or a finish reason are worth parsing.
            if (!withText && payload.IndexOf("\"usage\""u8) < 0 && !Proxy.SseScanner.HasFinishReason(payload))
            {
                continue;
            }
            try
            {
                var reader = new Utf8JsonReader(payload);
                ReadChunk(ref reader, ref usage, ref finish, ref text, "delta"u8, withText);
            }
            catch (JsonException)
            {
            }
        }
        return (usage, finish, text?.ToString());
    }

    private static void ReadChunk(
        ref Utf8JsonReader reader, ref TokenUsage? usage, ref string? finish, ref StringBuilder? text, ReadOnlySpan<byte> messageProperty, bool withText)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    usage = ReadUsage(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("choices"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadChoice(ref reader, ref finish, ref text, messageProperty, withText);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadChoice(ref Utf8JsonReader reader, ref string? finish, ref StringBuilder? text, ReadOnlySpan<byte> messageProperty, bool withText)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && (finish is null || !reader.ValueTextEquals(finish)))
                {
                    finish = reader.GetString();
                }
            }
            else if (withText && reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    (text ??= new StringBuilder()).Append(reader.GetString());
                }
            }
            else if (withText && reader.ValueTextEquals(messageProperty))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isContent = reader.ValueTextEquals("content"u8);
                    reader.Read();
                    if (isContent && reader.TokenType == JsonTokenType.String)
                    {
                        (text ??= new StringBuilder()).Append(reader.GetString());
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>A usage object ({"prompt_tokens":…}) starting at the first byte of <paramref name="json"/>; null if it is not one.</summary>
    public static TokenUsage? ParseUsageObject(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowMultipleValues = true });
        try
        {
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject ? ReadUsage(ref reader) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static TokenUsage ReadUsage(ref Utf8JsonReader reader)
    {
        long prompt = 0, completion = 0, total = -1, cached = 0, reasoning = 0, cacheRead = -1, cacheWrite = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                cached = ReadDetail(ref reader, "cached_tokens"u8);
                continue;
            }
            if (reader.ValueTextEquals("completion_tokens_details"u8))
            {
                reasoning = ReadDetail(ref reader, "reasoning_tokens"u8);
                continue;
            }
            int field = reader.ValueTextEquals("prompt_tokens"u8) ? 0
                : reader.ValueTextEquals("completion_tokens"u8) ? 1
                : reader.ValueTextEquals("total_tokens"u8) ? 2
                : reader.ValueTextEquals("cache_read_input_tokens"u8) ? 3
                : reader.ValueTextEquals("cache_creation_input_tokens"u8) ? 4 : -1;
            reader.Read();
            if (field < 0 || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
            {
                reader.Skip();
                continue;
            }
            switch (field)
            {
                case 0:
                    prompt = value;
                    break;
                case 1:
                    completion = value;
                    break;
                case 2:
                    total = value;
                    break;
                case 3:
                    cacheRead = value;
                    break;
                default:
                    cacheWrite = value;
                    break;
            }
        }
        return new TokenUsage(prompt, completion, total >= 0 ? total : prompt + completion, cached, reasoning, cacheRead, cacheWrite);
    }

    /// <summary>One count inside a details object ({"cached_tokens":n,…}); 0 when absent or not an object.</summary>
    private static long ReadDetail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        long found = 0;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return 0;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool wanted = reader.ValueTextEquals(name);
            reader.Read();
            if (wanted && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value))
            {
                found = value;
            }
            else
            {
                reader.Skip();
            }
        }
        return found;
    }
}
