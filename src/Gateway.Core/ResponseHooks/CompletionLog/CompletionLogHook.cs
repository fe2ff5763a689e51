using System.Buffers;
using System.Text.Json;
using Gateway.Core.Config;

namespace Gateway.Core.ResponseHooks.CompletionLog;

/// <summary>
/// completion_log: one record per committed response (see <see cref="CompletionRecord"/>), built on the completion
/// worker and handed to the <see cref="CompletionLogWriter"/>. With capture_bodies the request's messages are
/// copied when the response starts (the request body is gone by the time the record is written).
/// </summary>
internal sealed class CompletionLogHook : IResponseHook
{
    private readonly CompletionLogWriter _writer;
    private readonly bool _captureBodies;
    private readonly TimeProvider _time;
    private readonly OnCompletion _record;

    public CompletionLogHook(CompletionLogWriter writer, CompletionLogConfig config, TimeProvider time)
    {
        _writer = writer;
        _captureBodies = config.CaptureBodies;
        _time = time;
        _record = response => Record(response, null);
    }

    public ResponseHook OnResponse(ResponseStart response)
    {
        if (!_captureBodies)
        {
            return new ResponseHook(WantsBody: true, Completion: _record);
        }
        var messages = FindMessages(response.RequestBody);
        return new ResponseHook(WantsBody: true, Completion: completed => Record(completed, messages));
    }

    private ValueTask Record(CompletedResponse response, byte[]? messages)
    {
        _writer.Enqueue(CompletionRecord.Write(response, _time.GetUtcNow(), messages, _captureBodies));
        return ValueTask.CompletedTask;
    }

    /// <summary>The raw JSON of the request's top-level "messages" (or "prompt"/"input" for other endpoints).</summary>
    private static byte[]? FindMessages(ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool wanted = reader.ValueTextEquals("messages"u8) || reader.ValueTextEquals("prompt"u8) || reader.ValueTextEquals("input"u8);
                reader.Read();
                if (wanted)
                {
                    long start = reader.TokenStartIndex;
                    reader.Skip();
                    long end = reader.BytesConsumed;
                    return body.Slice(start, end - start).ToArray();
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }
}
