using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Core.Proxy;

/// <summary>Writes OpenAI's error envelope: {"error":{"message","type","param","code"}}.</summary>
internal static class ErrorBody
{
    // Quotes, backslashes and control characters are still escaped; apostrophes in messages stay readable.
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="param">Names the parameter when the error table has none for <paramref name="error"/>.</param>
    public static void Write(IBufferWriter<byte> output, GatewayError error, string message, string? param = null)
    {
        var descriptor = GatewayErrors.Describe(error);
        param ??= descriptor.Param;
        using var json = new Utf8JsonWriter(output, s_options);
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", message);
        json.WriteString("type", descriptor.Type);
        if (param is null)
        {
            json.WriteNull("param");
        }
        else
        {
            json.WriteString("param", param);
        }
        json.WriteString("code", descriptor.Code);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The same envelope as one SSE event, for failures after a stream has started.</summary>
    public static void WriteSseEvent(IBufferWriter<byte> output, GatewayError error, string message)
    {
        output.Write("data: "u8);
        Write(output, error, message);
        output.Write("\n\n"u8);
    }
}
