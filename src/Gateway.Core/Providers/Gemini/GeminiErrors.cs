using System.Globalization;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers.Gemini;

/// <summary>
/// Gemini's error answers (<c>{"error":{"code","message","status","details"}}</c>), classified on status and body:
/// RESOURCE_EXHAUSTED is a rate limit whose delay is RetryInfo's <c>retryDelay</c>, refused keys, billing and region
/// (401, 403, FAILED_PRECONDITION) are 502 <c>upstream_auth_failed</c>, UNAVAILABLE is an outage (503 overloaded), a
/// prompt over the model's limit is <c>context_length_exceeded</c>.
/// </summary>
internal static class GeminiErrors
{
    private const int MaxMessageChars = 500;

    public static UpstreamErrorInfo Classify(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time)
    {
        int status = (int)response.StatusCode;
        var (grpc, message, retryDelay) = Read(body);
        string reason = $"answered {status} ({(grpc.Length > 0 ? grpc : "no status")})";
        if (status is 401 or 403 || grpc is "FAILED_PRECONDITION" or "PERMISSION_DENIED" or "UNAUTHENTICATED")
        {
            return new(GatewayError.UpstreamAuthFailed, FailureClasses.ServerError, false, null, null, "the provider refused the gateway's credentials, billing or region.", reason);
        }
        if (status == 429 || grpc == "RESOURCE_EXHAUSTED")
        {
            var retryAfter = retryDelay ?? Resilience.RetryAfter.From(response, time);
            return new(GatewayError.UpstreamRateLimited, FailureClasses.RateLimited, retryAfter is null, retryAfter, null, "the provider's rate limit or quota was reached.", reason);
        }
        if (status == 404)
        {
            return new(GatewayError.UpstreamBadResponse, FailureClasses.ServerError, false, null, null, "the provider does not know this model.", reason);
        }
        if (status == 503)
        {
            return new(GatewayError.Overloaded, FailureClasses.ServerError, true, Resilience.RetryAfter.From(response, time), null, "the provider is overloaded.", reason);
        }
        if (status == 504)
        {
            return new(GatewayError.UpstreamTimeout, FailureClasses.ServerError, true, null, null, "the provider timed out.", reason);
        }
        if (status >= 500)
        {
            return new(GatewayError.UpstreamBadResponse, FailureClasses.ServerError, true, null, null, $"the provider failed ({status}).", reason);
        }
        if (message.Contains("exceeds the maximum number of tokens", StringComparison.OrdinalIgnoreCase))
        {
            return new(GatewayError.ContextLengthExceeded, FailureClasses.None, false, null, "context_length_exceeded", message, reason);
        }
        return new(GatewayError.UpstreamInvalidRequest, FailureClasses.None, false, null, null,
            message.Length > 0 ? message : $"the provider refused the request ({status}).", reason);
    }

    /// <summary>error.status, error.message (shortened) and RetryInfo's delay, from Gemini's error shape.</summary>
    private static (string Status, string Message, TimeSpan? RetryDelay) Read(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            if (!document.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return ("", "", null);
            }
            var status = error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
            var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
            if (message.Length > MaxMessageChars)
            {
                message = message[..MaxMessageChars] + "...";
            }
            TimeSpan? delay = null;
            if (error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
            {
                foreach (var detail in details.EnumerateArray())
                {
                    if (detail.ValueKind == JsonValueKind.Object && detail.TryGetProperty("retryDelay", out var d) && d.ValueKind == JsonValueKind.String
                        && d.GetString() is { } text && text.EndsWith('s')
                        && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and < 86_400)
                    {
                        delay = TimeSpan.FromSeconds(seconds);
                    }
                }
            }
            return (status, message, delay);
        }
        catch (JsonException)
        {
            return ("", "", null);
        }
    }
}
