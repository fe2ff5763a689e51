using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gateway.Core.Proxy;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>
/// Errors in Anthropic's shape for <c>/v1/messages</c> clients (translation.md §3.4):
/// <c>{"type":"error","error":{"type","message"},"request_id"}</c>, the status from the one error table mapped to
/// Anthropic's — our 503 (overloaded, no provider) is 529 <c>overloaded_error</c>, an upstream failure 500 <c>api_error</c>.
/// </summary>
internal static class MessagesErrors
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static (int Status, string Type) For(GatewayError error) => For(GatewayErrors.Describe(error).Status);

    public static (int Status, string Type) For(int status) => status switch
    {
        401 => (401, "authentication_error"),
        403 => (403, "permission_error"),
        404 => (404, "not_found_error"),
        413 => (413, "request_too_large"),
        429 => (429, "rate_limit_error"),
        503 or 529 => (529, "overloaded_error"),
        504 => (504, "timeout_error"),
        >= 500 => (500, "api_error"),
        _ => (status, "invalid_request_error"),
    };

    public static void Write(IBufferWriter<byte> output, string type, string message, string requestId)
    {
        using var json = new Utf8JsonWriter(output, s_options);
        json.WriteStartObject();
        json.WriteString("type", "error");
        json.WriteStartObject("error");
        json.WriteString("type", type);
        json.WriteString("message", message);
        json.WriteEndObject();
        json.WriteString("request_id", requestId);
        json.WriteEndObject();
    }

    /// <summary>The message of an OpenAI-shaped error body (a provider's answer passed on), or a generic one.</summary>
    public static string MessageOf(ReadOnlySpan<byte> openAiError)
    {
        try
        {
            var reader = new Utf8JsonReader(openAiError);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
            {
                return message.GetString()!;
            }
        }
        catch (JsonException)
        {
        }
        return "The provider refused the request.";
    }
}
