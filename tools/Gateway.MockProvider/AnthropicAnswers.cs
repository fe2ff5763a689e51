using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Gateway.MockProvider;

/// <summary>
/// The mock's Anthropic mode: POST /v1/messages answered in Anthropic's wire format, a Messages stream of
/// <see cref="MockBehavior.Chunks"/> text deltas (<see cref="MockBehavior.ChunkDelayMs"/> apart) or a whole message;
/// a non-200 <see cref="MockBehavior.Status"/> becomes Anthropic's error body (529 overloaded_error and friends).
/// A translated request carries no "mock" object, so its behaviour comes from an <c>x-mock</c> header
/// (<c>chunks=20,chunk_delay_ms=5,status=529</c>), which a gateway's provider config can set.
/// </summary>
internal static class AnthropicAnswers
{
    public static async Task ServeAsync(HttpContext context, byte[] body, MockBehavior defaults)
    {
        var behavior = WithHeader(defaults, context.Request.Headers["x-mock"].ToString());
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var model = root.TryGetProperty("model", out var m) ? m.GetString() : "claude-mock";
        bool stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var response = context.Response;
        response.Headers["request-id"] = "req_mock";
        if (behavior.Status != 200)
        {
            var type = behavior.Status switch
            {
                400 => "invalid_request_error",
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                _ => "api_error",
            };
            response.StatusCode = behavior.Status;
            response.ContentType = "application/json";
            await response.WriteAsync($$$$"""{"type":"error","error":{"type":"{{{{type}}}}","message":"mock {{{{type}}}}"},"request_id":"req_mock"}""");
            return;
        }
        if (!stream)
        {
            response.ContentType = "application/json";
            await response.WriteAsync(
                $$$$"""{"id":"msg_mock","type":"message","role":"assistant","model":"{{{{model}}}}","content":[{"type":"text","text":"Hello from the mock provider."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":6,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}""");
            return;
        }
        response.ContentType = "text/event-stream";
        var writer = response.BodyWriter;
        Write(writer, "message_start",
            $$$$$"""{"type":"message_start","message":{"id":"msg_mock","type":"message","role":"assistant","model":"{{{{{model}}}}}","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}}""");
        Write(writer, "content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""");
        await writer.FlushAsync(context.RequestAborted);
        for (int i = 0; i < behavior.Chunks; i++)
        {
            if (behavior.ChunkDelayMs > 0)
            {
                await Task.Delay(behavior.ChunkDelayMs, context.RequestAborted);
            }
            Write(writer, "content_block_delta", $$$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token{{{{i}}}} "}}""");
            await writer.FlushAsync(context.RequestAborted);
        }
        Write(writer, "content_block_stop", """{"type":"content_block_stop","index":0}""");
        Write(writer, "message_delta", $$$$"""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":{{{{behavior.Chunks}}}}}}""");
        Write(writer, "message_stop", """{"type":"message_stop"}""");
        await writer.FlushAsync(context.RequestAborted);
    }

    private static MockBehavior WithHeader(MockBehavior behavior, string header)
    {
        foreach (var setting in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (name, value) = (setting.Split('=')[0], int.Parse(setting.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));
            behavior = name switch
            {
                "chunks" => behavior with { Chunks = value },
                "chunk_delay_ms" => behavior with { ChunkDelayMs = value },
                "status" => behavior with { Status = value },
                _ => behavior,
            };
        }
        return behavior;
    }

    private static void Write(System.IO.Pipelines.PipeWriter writer, string name, string json)
    {
        writer.Write(Encoding.UTF8.GetBytes($"event: {name}\ndata: {json}\n\n"));
    }
}
