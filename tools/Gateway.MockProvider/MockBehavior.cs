using System.Text.Json;

namespace Gateway.MockProvider;

/// <summary>
/// What the mock does for one request. Defaults come from the command line; a request overrides them with a
/// top-level "mock" object in its JSON body, which passes through the gateway untouched:
/// <code>"mock": {"status": 503, "delay_ms": 2000, "chunks": 5, "chunk_delay_ms": 100, "hang_after": 2, "close_after": 2, "retry_after": "3", "no_done": true, "stamp": true}</code>
/// Failure modes (status, reset, delay_ms, first_event_error, first_chunk_delay_ms, hang_after, close_after) apply to
/// the first fail_times requests of this mock when fail_times is set, and the later ones are served normally.
/// </summary>
public sealed record MockBehavior
{
    public int Status { get; init; } = 200;

    /// <summary>Delay before the response headers.</summary>
    public int DelayMs { get; init; }

    /// <summary>Content chunks of a streamed answer (the finish chunk and [DONE] come after them).</summary>
    public int Chunks { get; init; } = 5;

    public int ChunkDelayMs { get; init; }

    /// <summary>Stop sending (but keep the connection open) after this many chunks. -1: never.</summary>
    public int HangAfter { get; init; } = -1;

    /// <summary>Abort the connection after this many chunks. -1: never.</summary>
    public int CloseAfter { get; init; } = -1;

    public string? RetryAfter { get; init; }

    /// <summary>A retry-after-ms header (milliseconds).</summary>
    public string? RetryAfterMs { get; init; }

    /// <summary>The "code" of the error body sent with a non-200 status (default mock_{status}).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>Read the request, then reset the connection without answering.</summary>
    public bool Reset { get; init; }

    /// <summary>Answer 200 text/event-stream whose first event is an error, then end.</summary>
    public bool FirstEventError { get; init; }

    /// <summary>Delay between the stream's headers and its first chunk (a slow first token).</summary>
    public int FirstChunkDelayMs { get; init; }

    /// <summary>Apply the failure modes to this many requests only (0: to all).</summary>
    public int FailTimes { get; init; }

    /// <summary>The id of the chunks and completions.</summary>
    public string Id { get; init; } = "chatcmpl-mock";

    /// <summary>Answer 400 when the last message is an assistant message (a provider that cannot continue one).</summary>
    public bool RejectPrefill { get; init; }

    /// <summary>End a stream with the finish chunk but without "data: [DONE]".</summary>
    public bool NoDone { get; init; }

    /// <summary>After the last event, keep the connection open instead of ending the response.</summary>
    public bool HangAtEnd { get; init; }

    /// <summary>
    /// Put the send time (Stopwatch ticks, the machine's monotonic clock) into each chunk as "mock_sent", so a
    /// client on the same machine can measure how long each chunk took to reach it.
    /// </summary>
    public bool Stamp { get; init; }

    /// <summary>This behaviour without its failure modes: what the request after the last of fail_times gets.</summary>
    internal MockBehavior Healthy() => this with
    {
        Status = 200,
        Reset = false,
        DelayMs = 0,
        FirstEventError = false,
        FirstChunkDelayMs = 0,
        HangAfter = -1,
        CloseAfter = -1,
        RetryAfter = null,
        RetryAfterMs = null,
    };

    internal MockBehavior With(ref Utf8JsonReader reader)
    {
        var result = this;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            result = name switch
            {
                "status" => result with { Status = reader.GetInt32() },
                "delay_ms" => result with { DelayMs = reader.GetInt32() },
                "chunks" => result with { Chunks = reader.GetInt32() },
                "chunk_delay_ms" => result with { ChunkDelayMs = reader.GetInt32() },
                "hang_after" => result with { HangAfter = reader.GetInt32() },
                "close_after" => result with { CloseAfter = reader.GetInt32() },
                "retry_after" => result with { RetryAfter = reader.GetString() },
                "no_done" => result with { NoDone = reader.GetBoolean() },
                "stamp" => result with { Stamp = reader.GetBoolean() },
                "retry_after_ms" => result with { RetryAfterMs = reader.GetString() },
                "error_code" => result with { ErrorCode = reader.GetString() },
                "reset" => result with { Reset = reader.GetBoolean() },
                "first_event_error" => result with { FirstEventError = reader.GetBoolean() },
                "first_chunk_delay_ms" => result with { FirstChunkDelayMs = reader.GetInt32() },
                "fail_times" => result with { FailTimes = reader.GetInt32() },
                "reject_prefill" => result with { RejectPrefill = reader.GetBoolean() },
                "hang_at_end" => result with { HangAtEnd = reader.GetBoolean() },
                _ => result,
            };
            reader.Skip();
        }
        return result;
    }
}
