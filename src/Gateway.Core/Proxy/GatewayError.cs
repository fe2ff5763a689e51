namespace Gateway.Core.Proxy;

/// <summary>
/// The closed vocabulary of errors the gateway itself produces. Each maps to exactly one HTTP status and OpenAI
/// error type/code in <see cref="GatewayErrors"/>; logs use the same names.
/// </summary>
internal enum GatewayError
{
    None,

    // Caller errors: the request itself is wrong; retrying it unchanged cannot succeed.
    InvalidJson,
    EmptyBody,
    InvalidBodyType,
    MissingModel,
    InvalidModelType,
    InvalidModelName,
    DuplicateKey,
    InvalidStreamType,
    UnsupportedMediaType,
    RequestTooLarge,
    RequestBodyUnreadable,
    ModelNotFound,
    UnknownUrl,
    MethodNotAllowed,

    // Caller errors a translating provider type finds: the request cannot be expressed in the provider's format.
    /// <summary>A parameter the provider cannot honour (n > 1, logprobs, audio...): the outcome names it.</summary>
    UnsupportedParameter,
    /// <summary>A parameter's value the provider's format cannot take (unparsable tool arguments, temperature over 1...).</summary>
    InvalidParameter,
    /// <summary>An endpoint the provider type does not offer (e.g. /v1/embeddings on anthropic): no upstream call.</summary>
    UnsupportedEndpoint,

    // Policy errors: the caller may not do this (gateway keys and their limits).
    MissingApiKey,
    InvalidApiKey,
    ModelNotAllowed,
    RateLimitExceeded,
    /// <summary>The key's budget for its current period is spent: refused until the period resets (never retried).</summary>
    BudgetExhausted,

    // Provider errors: the upstream could not give an answer.
    UpstreamUnreachable,
    UpstreamTimeout,
    UpstreamBadResponse,
    UpstreamRateLimited,
    /// <summary>The provider refused the gateway's own credentials (401/402/403): never passed on as the client's 401.</summary>
    UpstreamAuthFailed,
    /// <summary>The provider refused the request as invalid (400): its message, masked.</summary>
    UpstreamInvalidRequest,
    /// <summary>The provider says the prompt does not fit the model's context.</summary>
    ContextLengthExceeded,
    /// <summary>The provider's content filter refused the prompt.</summary>
    ContentFilter,
    /// <summary>Every attempt of a chain failed, for different reasons (the message lists them).</summary>
    AllAttemptsFailed,
    NoAvailableProvider,

    // Capacity: the gateway itself is past its overload limits and refuses new work, in-flight requests unaffected.
    Overloaded,

    // After the response started: reported in-band, then the response is aborted.
    StreamInterrupted,

    // Client went away: nothing to answer.
    ClientClosedRequest,

    // A gateway bug.
    Internal,
}

/// <summary>How one <see cref="GatewayError"/> looks on the wire.</summary>
internal readonly record struct ErrorDescriptor(int Status, string Type, string Code, string? Param);

/// <summary>The one table from error to HTTP status and OpenAI error type/code.</summary>
internal static class GatewayErrors
{
    public static ErrorDescriptor Describe(GatewayError error) => error switch
    {
        GatewayError.InvalidJson => new(400, "invalid_request_error", "invalid_json", null),
        GatewayError.EmptyBody => new(400, "invalid_request_error", "empty_body", null),
        GatewayError.InvalidBodyType => new(400, "invalid_request_error", "invalid_body_type", null),
        GatewayError.MissingModel => new(400, "invalid_request_error", "missing_required_parameter", "model"),
        GatewayError.InvalidModelType => new(400, "invalid_request_error", "invalid_type", "model"),
        GatewayError.InvalidModelName => new(400, "invalid_request_error", "invalid_model_name", "model"),
        GatewayError.DuplicateKey => new(400, "invalid_request_error", "duplicate_key", null),
        GatewayError.InvalidStreamType => new(400, "invalid_request_error", "invalid_type", "stream"),
        GatewayError.UnsupportedMediaType => new(415, "invalid_request_error", "unsupported_media_type", null),
        GatewayError.RequestTooLarge => new(413, "invalid_request_error", "request_too_large", null),
        GatewayError.RequestBodyUnreadable => new(400, "invalid_request_error", "invalid_body", null),
        GatewayError.ModelNotFound => new(404, "invalid_request_error", "model_not_found", "model"),
        GatewayError.UnknownUrl => new(404, "invalid_request_error", "unknown_url", null),
        GatewayError.MethodNotAllowed => new(405, "invalid_request_error", "method_not_allowed", null),
        GatewayError.UnsupportedParameter => new(400, "invalid_request_error", "unsupported_parameter", null),
        GatewayError.InvalidParameter => new(400, "invalid_request_error", "invalid_value", null),
        GatewayError.UnsupportedEndpoint => new(400, "invalid_request_error", "unsupported_endpoint", null),
        // OpenAI's own shape for key errors, missing or wrong alike, so clients match one code (the message says which).
        GatewayError.MissingApiKey => new(401, "invalid_request_error", "invalid_api_key", null),
        GatewayError.InvalidApiKey => new(401, "invalid_request_error", "invalid_api_key", null),
        GatewayError.ModelNotAllowed => new(403, "permission_error", "model_not_allowed", "model"),
        GatewayError.RateLimitExceeded => new(429, "rate_limit_error", "rate_limit_exceeded", null),
        // OpenAI's answer to an exhausted quota: its SDKs do not retry it.
        GatewayError.BudgetExhausted => new(429, "insufficient_quota", "insufficient_quota", null),
        GatewayError.UpstreamUnreachable => new(502, "server_error", "upstream_error", null),
        GatewayError.UpstreamTimeout => new(504, "server_error", "upstream_timeout", null),
        GatewayError.UpstreamBadResponse => new(502, "server_error", "upstream_bad_response", null),
        GatewayError.UpstreamRateLimited => new(429, "rate_limit_error", "upstream_rate_limited", null),
        GatewayError.UpstreamAuthFailed => new(502, "server_error", "upstream_auth_failed", null),
        GatewayError.UpstreamInvalidRequest => new(400, "invalid_request_error", "invalid_request", null),
        GatewayError.ContextLengthExceeded => new(400, "invalid_request_error", "context_length_exceeded", "messages"),
        GatewayError.ContentFilter => new(400, "invalid_request_error", "content_filter", "prompt"),
        GatewayError.AllAttemptsFailed => new(502, "server_error", "upstream_error", null),
        GatewayError.NoAvailableProvider => new(503, "server_error", "no_available_provider", null),
        GatewayError.Overloaded => new(503, "server_error", "overloaded", null),
        GatewayError.StreamInterrupted => new(502, "server_error", "stream_interrupted", null),
        // 499 is nginx's "client closed request": only ever seen in logs, the client is gone.
        GatewayError.ClientClosedRequest => new(499, "invalid_request_error", "client_closed_request", null),
        _ => new(500, "server_error", "internal_error", null),
    };

    /// <summary>Errors a client should not retry unchanged get <c>x-should-retry: false</c> (honoured by the OpenAI SDKs).</summary>
    public static bool IsPermanent(GatewayError error) =>
        error == GatewayError.BudgetExhausted || Describe(error).Status is >= 400 and < 500 and not 408 and not 429;
}
