using System.Text.Json;

namespace Gateway.Core.Proxy;

internal enum FirstEventKind
{
    /// <summary>No complete data line yet: read more.</summary>
    NeedMore,

    /// <summary>The first data event carries content (or any non-error payload): the stream can be committed.</summary>
    Content,

    /// <summary>The first event is an error (event: error, or a data object with a top-level "error"): not an answer.</summary>
    Error,
}

/// <summary>Decides, before anything is sent to the client, whether an event stream's first event is an answer.</summary>
internal static class FirstEvent
{
    public static FirstEventKind Inspect(ReadOnlySpan<byte> buffered)
    {
        while (Sse.SseLineFramer.NextLine(ref buffered, out var line))
        {
            if (Sse.SseLine.TryGetField(line, "event"u8, out var name) && name.Trim((byte)' ').SequenceEqual("error"u8))
            {
                return FirstEventKind.Error;
            }
            if (Sse.SseLine.TryGetData(line, out var payload))
            {
                return IsErrorObject(payload) ? FirstEventKind.Error : FirstEventKind.Content;
            }
            // Blank lines, comments (": ping"), id: and retry: lines come before the first data.
        }
        return FirstEventKind.NeedMore;
    }

    /// <summary>A JSON object with a top-level "error" and no "choices" (some providers stream {"error": ...} with status 200).</summary>
    public static bool IsErrorObject(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        bool hasError = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    return false;
                }
                hasError |= reader.ValueTextEquals("error"u8);
                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not valid JSON: not ours to judge; the client gets it as sent.
        }
        return hasError;
    }
}
