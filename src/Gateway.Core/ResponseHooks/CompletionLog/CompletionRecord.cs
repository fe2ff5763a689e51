using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Core.ResponseHooks.CompletionLog;

/// <summary>One completion record as a JSON line: who, what was asked, who served, how it went, what it cost.</summary>
internal static class CompletionRecord
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="messages">The request's raw "messages" JSON when capture_bodies is on; null otherwise.</param>
    public static byte[] Write(CompletedResponse response, DateTimeOffset timestamp, ReadOnlyMemory<byte>? messages, bool captureBodies)
    {
        var start = response.Start;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, s_options))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", timestamp);
            json.WriteString("request_id", start.RequestId);
            json.WriteString("api", start.Api);
            WriteNullable(json, "key", start.Caller?.Name);
            WriteNullable(json, "model", start.RequestedModel);
            json.WriteString("served_by", start.ServedBy);
            json.WriteNumber("attempts", start.Exchange.Attempts);
            json.WriteBoolean("continued", start.Exchange.Attempts > 0 && start.ServedBy != start.Exchange.ServedBy);
            WriteNullable(json, "final_target", start.Exchange.ServedBy);
            json.WriteNumber("status", start.Status);
            json.WriteBoolean("stream", start.StreamRequested);
            json.WriteString("end", response.End switch
            {
                CompletionEnd.Completed => "completed",
                CompletionEnd.UpstreamFailed => "upstream_failed",
                _ => "client_aborted",
            });
            json.WriteNumber("ttfb_ms", Math.Round(response.TimeToFirstByte.TotalMilliseconds, 3));
            json.WriteNumber("total_ms", Math.Round(response.Duration.TotalMilliseconds, 3));
            json.WriteNumber("bytes", response.TotalBytes);
            json.WriteBoolean("truncated", response.Truncated);
            if (response.Usage is { } usage)
            {
                json.WriteStartObject("usage");
                json.WriteNumber("prompt_tokens", usage.PromptTokens);
                json.WriteNumber("completion_tokens", usage.CompletionTokens);
                json.WriteNumber("total_tokens", usage.TotalTokens);
                json.WriteNumber("cached_tokens", usage.CachedTokens);
                json.WriteNumber("reasoning_tokens", usage.ReasoningTokens);
                if (usage.CacheReadTokens >= 0)
                {
                    json.WriteNumber("cache_read_input_tokens", usage.CacheReadTokens);
                    json.WriteNumber("cache_creation_input_tokens", usage.CacheWriteTokens);
                }
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("usage");
            }
            // Always present: null when the cost is unknown (no price, no usage), never 0.
            json.WritePropertyName("cost_usd");
            if (start.Exchange.CostUsd is { } cost)
            {
                json.WriteRawValue(Spend.CostCalculator.Format(cost), skipInputValidation: true);
            }
            else
            {
                json.WriteNullValue();
            }
            WriteNullable(json, "finish_reason", response.FinishReason);
            if (captureBodies)
            {
                json.WritePropertyName("messages");
                if (messages is { } raw)
                {
                    json.WriteRawValue(raw.Span, skipInputValidation: true);
                }
                else
                {
                    json.WriteNullValue();
                }
                WriteNullable(json, "completion", response.Text);
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
