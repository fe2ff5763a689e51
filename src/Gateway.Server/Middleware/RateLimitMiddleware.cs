using System.Globalization;
using System.Threading.RateLimiting;
using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// Per-key limits: a spent budget → 429 insufficient_quota (not retried) before anything else; rpm, max_concurrent
/// and tpm → 429 rate_limit_exceeded with Retry-After, and OpenAI's x-ratelimit-* headers on every answer to a
/// limited key (the gateway's limits, not the provider's).
/// </summary>
internal static class RateLimitMiddleware
{
    /// <param name="shared">With a <c>state</c> backend: the limits shared across replicas (null: per process).</param>
    public static Func<RequestDelegate, RequestDelegate> Create(KeyLimiters limiters, SharedRateLimit? shared = null) => next => context =>
    {
        if (GatewayRequest.Of(context) is not { Caller: { } caller } request)
        {
            return next(context);
        }
        if (shared is not null && Gateway.Core.State.SharedLimits.Limits(caller.Config))
        {
            return shared.LimitAsync(next, context, request, caller);
        }
        if (caller.Config.Budget is { } budget && request.Snapshot.Ledger.IsExhausted(caller.Name, budget, out var resetsAt))
        {
            return OpenAiErrorWriter.WriteAsync(context, GatewayError.BudgetExhausted, BudgetMessage(caller.Name, budget, resetsAt));
        }
        return limiters.Enter(caller) is { } limiter ? LimitAsync(next, context, request, caller, caller.Config, limiter) : next(context);
    };

    public static string BudgetMessage(string key, Gateway.Core.Config.BudgetConfig budget, DateTimeOffset resetsAt) =>
        string.Create(CultureInfo.InvariantCulture,
            $"The key '{key}' has spent its budget of {budget.Usd} USD for this period ({Gateway.Core.Spend.BudgetWindow.Name(budget.Period)}); it resets at {resetsAt:yyyy-MM-ddTHH:mm:ssZ}.");

    /// <param name="limits">The limits <paramref name="limiter"/> enforces: the key's, or this replica's share of them.</param>
    public static async Task LimitAsync(
        RequestDelegate next, HttpContext context, GatewayRequest request, Gateway.Core.Access.ClientKey caller, Gateway.Core.Config.ClientKeyConfig limits, KeyLimiter limiter)
    {
        try
        {
            await LimitCoreAsync(next, context, request, caller.Name, limits, limiter);
        }
        finally
        {
            limiter.Exit();
        }
    }

    private static async Task LimitCoreAsync(
        RequestDelegate next, HttpContext context, GatewayRequest request, string name, Gateway.Core.Config.ClientKeyConfig limits, KeyLimiter limiter)
    {
        using var concurrency = limiter.Concurrency?.AttemptAcquire();
        if (concurrency is { IsAcquired: false })
        {
            await Refuse(context, $"The key '{name}' already has {limits.MaxConcurrent} requests in flight.", TimeSpan.FromSeconds(1));
            return;
        }
        using var lease = limiter.Requests?.AttemptAcquire();
        if (lease is { IsAcquired: false })
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(10);
            await Refuse(context, $"The key '{name}' is limited to {limits.Rpm} requests per minute.", retryAfter);
            return;
        }
        long remainingTokens = 0;
        if (limiter.Tokens is { } tokens && !tokens.HasRoom(out remainingTokens, out var tokensBack))
        {
            await Refuse(context, $"The key '{name}' is limited to {limits.Tpm} tokens per minute.", tokensBack);
            return;
        }
        var headers = context.Response.Headers;
        if (limiter.RequestLimit is { } rpm)
        {
            headers["x-ratelimit-limit-requests"] = rpm.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = (limiter.Requests!.GetStatistics()?.CurrentAvailablePermits ?? 0).ToString(CultureInfo.InvariantCulture);
        }
        if (limiter.Tokens is { } budget)
        {
            headers["x-ratelimit-limit-tokens"] = budget.Limit.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-tokens"] = remainingTokens.ToString(CultureInfo.InvariantCulture);
        }
        request.Exchange.GatewayRateLimits = true;
        await next(context);
    }

    private static Task Refuse(HttpContext context, string message, TimeSpan retryAfter) =>
        OpenAiErrorWriter.WriteAsync(context, GatewayError.RateLimitExceeded, message, retryAfter: retryAfter);
}
