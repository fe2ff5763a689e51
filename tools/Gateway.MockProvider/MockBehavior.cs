using System.Text.Json;

namespace Gateway.MockProvider;

/// <summary>
/// What the mock does for one request. Defaults come from the command line; a request overrides them with a
/// top-level "mock" object in its JSON body, which passes through the gateway untouched:
/// <code>"mock": {"status": 503, "delay_ms": 2000, "chunks": 5, "chunk_delay_ms": 100, "hang_after": 2, "close_after": 2, "retry_after": "3", "no_done": true, "stamp": true}</code>
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

    /// <summary>End a stream with the finish chunk but without "data: [DONE]".</summary>
    public bool NoDone { get; init; }

    /// <summary>
    /// Put the send time (Stopwatch ticks, the machine's monotonic clock) into each chunk as "mock_sent", so a
    /// client on the same machine can measure how long each chunk took to reach it.
    /// </summary>
    public bool Stamp { get; init; }

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
                _ => result,
            };
            reader.Skip();
        }
        return result;
    }
}
