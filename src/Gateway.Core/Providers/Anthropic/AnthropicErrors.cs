using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers.Anthropic;

/// <summary>
/// Anthropic's error answers, classified on status and body (<c>{"type":"error","error":{"type","message"}}</c>): 529
/// and <c>overloaded_error</c> are an outage (fallback; 503 overloaded as the last word), a 429 is a rate limit with its
/// <c>retry-after</c> unless it is a spend limit, a refused key is 502 <c>upstream_auth_failed</c> (never the client's
/// 401), a prompt over the context window is <c>context_length_exceeded</c>, which <c>fallback_on</c> may list.
/// </summary>
internal static class AnthropicErrors
{
    private const int MaxMessageChars = 500;

    public static UpstreamErrorInfo Classify(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time)
    {
        int status = (int)response.StatusCode;
        var (type, message) = Read(body);
        string reason = $"answered {status} ({(type.Length > 0 ? type : "no error type")})";
        if (status == 529 || type == "overloaded_error")
        {
            return new(GatewayError.Overloaded, FailureClasses.ServerError, true, Resilience.RetryAfter.From(response, time), null, "the provider is overloaded.", reason);
        }
        if (status is 401 or 402 or 403 || (status == 429 && message.Contains("spend limit", StringComparison.OrdinalIgnoreCase)))
        {
            return new(GatewayError.UpstreamAuthFailed, FailureClasses.ServerError, false, null, null, "the provider refused the gateway's credentials or account.", reason);
        }
        if (status == 429)
        {
            var retryAfter = Resilience.RetryAfter.From(response, time);
            return new(GatewayError.UpstreamRateLimited, FailureClasses.RateLimited, retryAfter is null, retryAfter, null, "the provider's rate limit was reached.", reason);
        }
        if (status == 404)
        {
            return new(GatewayError.UpstreamBadResponse, FailureClasses.ServerError, false, null, null, "the provider does not know this model or endpoint.", reason);
        }
        if (status == 413)
        {
            return new(GatewayError.RequestTooLarge, FailureClasses.None, false, null, null, "the request is larger than the provider accepts.", reason);
        }
        if (status == 504)
        {
            return new(GatewayError.UpstreamTimeout, FailureClasses.ServerError, true, null, null, "the provider timed out.", reason);
        }
        if (status >= 500)
        {
            return new(GatewayError.UpstreamBadResponse, FailureClasses.ServerError, true, null, null, $"the provider failed ({status}).", reason);
        }
        if (message.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase) || message.Contains("context window", StringComparison.OrdinalIgnoreCase))
        {
            return new(GatewayError.ContextLengthExceeded, FailureClasses.None, false, null, "context_length_exceeded", message, reason);
        }
        return new(GatewayError.UpstreamInvalidRequest, FailureClasses.None, false, null, type.Length > 0 ? type : null,
            message.Length > 0 ? message : $"the provider refused the request ({status}).", reason);
    }

    /// <summary>error.type and error.message (shortened), or empty strings for a body that is not Anthropic's shape.</summary>
    private static (string Type, string Message) Read(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return ("", "");
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isError = reader.ValueTextEquals("error"u8);
                if (!Translation.Json.EnterObject(ref reader) || !isError)
                {
                    reader.Skip();
                    continue;
                }
                string type = "", message = "";
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isType = reader.ValueTextEquals("type"u8), isMessage = reader.ValueTextEquals("message"u8);
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && (isType || isMessage))
                    {
                        var text = reader.GetString()!;
                        if (isType)
                        {
                            type = text.Length <= 64 ? text : "";
                        }
                        else
                        {
                            message = text.Length <= MaxMessageChars ? text : text[..MaxMessageChars] + "...";
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                return (type, message);
            }
        }
        catch (JsonException)
        {
        }
        return ("", "");
    }
}
