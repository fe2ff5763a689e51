using Gateway.Core.Config;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers.Azure;

/// <summary>
/// Azure OpenAI's error answers (OpenAI's envelope, Azure's codes): a prompt its content filter refused is the
/// client's 400 <c>content_filter</c> (not a reason to fall back, unless <c>fallback_on</c> lists it; its
/// <c>innererror</c> stays out), refused keys are 502 <c>upstream_auth_failed</c>, an unknown deployment is a
/// configuration error that falls back, a 429 waits <c>retry-after-ms</c> first.
/// </summary>
internal static class AzureErrors
{
    public static UpstreamErrorInfo Classify(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time)
    {
        int status = (int)response.StatusCode;
        var code = UpstreamFailures.ErrorCode(body);
        string reason = $"answered {status}{(code is null ? "" : $" ({code})")}";
        if (status is 401 or 403)
        {
            return new(GatewayError.UpstreamAuthFailed, FailureClasses.ServerError, false, null, null, "the provider refused the gateway's credentials.", reason);
        }
        if (status == 404)
        {
            return new(GatewayError.UpstreamBadResponse, FailureClasses.ServerError, false, null, null, "the provider does not know this deployment.", reason);
        }
        if (status == 429)
        {
            var retryAfter = Resilience.RetryAfter.From(response, time);
            return new(GatewayError.UpstreamRateLimited, FailureClasses.RateLimited, retryAfter is null, retryAfter, null, "the provider's rate limit was reached.", reason);
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
        if (code == "content_filter")
        {
            return new(GatewayError.ContentFilter, FailureClasses.None, false, null, "content_filter", "the provider's content filter refused the prompt.", reason);
        }
        if (code == "context_length_exceeded")
        {
            return new(GatewayError.ContextLengthExceeded, FailureClasses.None, false, null, code, "the prompt is longer than the model's context.", reason);
        }
        return new(GatewayError.UpstreamInvalidRequest, FailureClasses.None, false, null, code, $"the provider refused the request ({status}{(code is null ? "" : ", " + code)}).", reason);
    }
}
