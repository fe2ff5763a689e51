using System.Buffers;
using System.Text.Json;

namespace Gateway.Core.Proxy.Continuation;

/// <summary>
/// Follows the chat completion chunks a client has received: the response id and the assistant text so far, kept
/// as the raw JSON string contents (escapes included) so they can be written back into a request without decoding.
/// </summary>
internal sealed class ContinuationTracker : ISseDataSink
{
    private readonly ArrayBufferWriter<byte> _text = new(1024);

    /// <summary>The first chunk's "id", raw JSON string contents; continuation chunks are given the same.</summary>
    public byte[]? Id { get; private set; }

    /// <summary>The delivered assistant text as raw JSON string contents.</summary>
    public ReadOnlySpan<byte> DeliveredText => _text.WrittenSpan;

    /// <summary>Tool calls or several choices: a prefill cannot reproduce those, so such a stream is not continued.</summary>
    public bool Unsupported { get; private set; }

    public bool CanContinue => Id is not null && !Unsupported;

    public void OnData(ReadOnlySpan<byte> payload, bool answerComplete)
    {
        var reader = new Utf8JsonReader(payload);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    if (Id is null && reader.TokenType == JsonTokenType.String)
                    {
                        Id = reader.ValueSpan.ToArray();
                    }
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    ReadChoices(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // Not a chunk this tracker understands: it carried no text the client could have used either.
        }
    }

    private void ReadChoices(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    Unsupported |= reader.TokenType != JsonTokenType.Number || reader.GetInt32() != 0;
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    ReadDelta(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
    }

    private void ReadDelta(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    _text.Write(reader.ValueSpan);
                }
            }
            else if (reader.ValueTextEquals("tool_calls"u8) || reader.ValueTextEquals("function_call"u8))
            {
                reader.Read();
                Unsupported |= reader.TokenType != JsonTokenType.Null;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }
}
