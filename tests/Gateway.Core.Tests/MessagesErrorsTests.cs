using Gateway.Core.Ingress.Anthropic;
using Gateway.Core.Proxy;

namespace Gateway.Core.Tests;

/// <summary>The gateway's errors as Anthropic's statuses and types (translation.md §3.4), from the one error table.</summary>
public sealed class MessagesErrorsTests
{
    [Theory]
    [InlineData("InvalidJson", 400, "invalid_request_error")]
    [InlineData("InvalidApiKey", 401, "authentication_error")]
    [InlineData("ModelNotAllowed", 403, "permission_error")]
    [InlineData("ModelNotFound", 404, "not_found_error")]
    [InlineData("RequestTooLarge", 413, "request_too_large")]
    [InlineData("RateLimitExceeded", 429, "rate_limit_error")]
    [InlineData("UpstreamRateLimited", 429, "rate_limit_error")]
    [InlineData("Overloaded", 529, "overloaded_error")]
    [InlineData("NoAvailableProvider", 529, "overloaded_error")]
    [InlineData("UpstreamBadResponse", 500, "api_error")]
    [InlineData("UpstreamAuthFailed", 500, "api_error")]
    [InlineData("UpstreamTimeout", 504, "timeout_error")]
    [InlineData("Internal", 500, "api_error")]
    public void Each_error_has_anthropics_status_and_type(string error, int status, string type) =>
        Assert.Equal((status, type), MessagesErrors.For(Enum.Parse<GatewayError>(error)));
}
