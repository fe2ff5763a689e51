using System.Globalization;
using Gateway.Core.Ingress.Anthropic;
using Gateway.Core.Proxy;
using Gateway.Core.Resilience;

namespace Gateway.Server.Http;

/// <summary>
/// Answers with a gateway error in OpenAI's envelope, with the status from <see cref="GatewayErrors"/>; on Anthropic's
/// Messages entry point (/v1/messages) in Anthropic's envelope and status (<see cref="MessagesErrors"/>).
/// </summary>
internal static class OpenAiErrorWriter
{
    public static Task WriteAsync(HttpContext context, in ProxyOutcome outcome) =>
        WriteAsync(context, outcome.Error, outcome.ErrorDetail ?? "The request failed.", outcome.Attempts, outcome.RetryAfter, outcome.Param);

    public static Task WriteAsync(HttpContext context, GatewayError error, string message, int attempts = 0, TimeSpan? retryAfter = null, string? param = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            // Too late for a status: end the response so it cannot pass for complete.
            context.Abort();
            return Task.CompletedTask;
        }
        if (context.Features.Get<GatewayRequest>() is { Outcome: GatewayError.None } request)
        {
            // The request log and the span name every refusal by its code, not only the proxy's own errors.
            request.Outcome = error;
        }
        var requestId = response.Headers["X-Request-Id"];
        response.Clear();
        response.Headers["X-Request-Id"] = requestId;
        // Anthropic's Messages entry point answers in Anthropic's shape, with its status for the same error.
        bool anthropic = context.Request.Path.StartsWithSegments("/v1/messages", StringComparison.Ordinal);
        var (anthropicStatus, anthropicType) = anthropic ? MessagesErrors.For(error) : default;
        response.StatusCode = anthropic ? anthropicStatus : GatewayErrors.Describe(error).Status;
        response.ContentType = "application/json";
        if (GatewayErrors.IsPermanent(error))
        {
            // The OpenAI SDKs retry 4xx like 409 and 5xx by default; a request that cannot succeed should not be re-sent.
            response.Headers["x-should-retry"] = "false";
        }
        if (attempts > 0)
        {
            response.Headers["X-Gateway-Attempts"] = ProxyEngine.AttemptCount(attempts);
        }
        if (error is GatewayError.UpstreamRateLimited or GatewayError.RateLimitExceeded or GatewayError.Overloaded)
        {
            // Tell the client when to come back (never a Retry-After of 0): the SDKs wait that long before retrying.
            response.Headers.RetryAfter = RetryAfter.ToHeaderSeconds(retryAfter ?? TimeSpan.FromSeconds(1)).ToString(CultureInfo.InvariantCulture);
        }
        if (error == GatewayError.RequestTooLarge)
        {
            // The rest of an oversized upload is not worth reading: close the connection after this answer.
            response.Headers.Connection = "close";
        }
        if (anthropic)
        {
            response.Headers["request-id"] = context.TraceIdentifier;
            MessagesErrors.Write(response.BodyWriter, anthropicType, message, context.TraceIdentifier);
        }
        else
        {
            ErrorBody.Write(response.BodyWriter, error, message, param);
        }
        return response.BodyWriter.FlushAsync().AsTask();
    }
}
