using System.Globalization;
using Gateway.Core.Access;
using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Proxy;
using Gateway.Core.State;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// Per-key limits shared across replicas (the <c>state</c> section): one admission in Redis books rpm, the lease of
/// max_concurrent and checks tpm and the budget; the lease is given back when the request ends. While Redis is not in
/// use, each limit is enforced here at this replica's share (the limit ÷ replicas seen) by local limiters.
/// </summary>
internal sealed class SharedRateLimit
{
    private readonly SharedLimits _shared;
    private readonly KeyLimiters _shares;

    public SharedRateLimit(SharedLimits shared, KeyLimiters shares)
    {
        _shared = shared;
        _shares = shares;
    }

    /// <summary>The local limiters of the degraded mode (tpm charges reach them too, so a key's share stays true).</summary>
    public KeyLimiters Shares => _shares;

    public SharedLimits Shared => _shared;

    public async Task LimitAsync(RequestDelegate next, HttpContext context, GatewayRequest request, ClientKey caller)
    {
        var admission = await _shared.AdmitAsync(caller, context.TraceIdentifier, context.RequestAborted);
        if (admission.Local)
        {
            await LocalShareAsync(next, context, request, caller, admission.Replicas);
            return;
        }
        if (!admission.Allowed)
        {
            await RefuseAsync(context, caller, admission, request.Snapshot.Ledger.Time);
            return;
        }
        var headers = context.Response.Headers;
        if (caller.Config.Rpm is { } rpm)
        {
            headers["x-ratelimit-limit-requests"] = rpm.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = admission.RequestsLeft.ToString(CultureInfo.InvariantCulture);
        }
        if (caller.Config.Tpm is { } tpm)
        {
            headers["x-ratelimit-limit-tokens"] = tpm.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-tokens"] = admission.TokensLeft.ToString(CultureInfo.InvariantCulture);
        }
        request.Exchange.GatewayRateLimits = true;
        try
        {
            await next(context);
        }
        finally
        {
            _shared.Release(admission);
        }
    }

    private static Task RefuseAsync(HttpContext context, ClientKey caller, in Admission admission, TimeProvider time)
    {
        var config = caller.Config;
        return admission.Refused switch
        {
            SharedLimit.Budget => OpenAiErrorWriter.WriteAsync(context, GatewayError.BudgetExhausted,
                RateLimitMiddleware.BudgetMessage(caller.Name, config.Budget!, Core.Spend.BudgetWindow.Of(config.Budget!.Period, time.GetUtcNow()).End)),
            SharedLimit.Concurrency => OpenAiErrorWriter.WriteAsync(context, GatewayError.RateLimitExceeded,
                $"The key '{caller.Name}' already has {config.MaxConcurrent} requests in flight.", retryAfter: TimeSpan.FromSeconds(1)),
            SharedLimit.Tokens => OpenAiErrorWriter.WriteAsync(context, GatewayError.RateLimitExceeded,
                $"The key '{caller.Name}' is limited to {config.Tpm} tokens per minute.", retryAfter: AtLeastASecond(admission.RetryAfter)),
            _ => OpenAiErrorWriter.WriteAsync(context, GatewayError.RateLimitExceeded,
                $"The key '{caller.Name}' is limited to {config.Rpm} requests per minute.", retryAfter: AtLeastASecond(admission.RetryAfter)),
        };
    }

    private static TimeSpan AtLeastASecond(TimeSpan retryAfter) => retryAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : retryAfter;

    /// <summary>Redis is not in use: this replica enforces its share of each limit, and of the budget, by itself.</summary>
    private async Task LocalShareAsync(RequestDelegate next, HttpContext context, GatewayRequest request, ClientKey caller, int replicas)
    {
        GatewayMetrics.StateFallback.Add(1);
        var config = caller.Config;
        if (config.Budget is { } budget && request.Snapshot.Ledger.Spent(caller.Name, budget.Period) >= budget.Usd / replicas)
        {
            var resetsAt = Core.Spend.BudgetWindow.Of(budget.Period, request.Snapshot.Ledger.Time.GetUtcNow()).End;
            await OpenAiErrorWriter.WriteAsync(context, GatewayError.BudgetExhausted, RateLimitMiddleware.BudgetMessage(caller.Name, budget, resetsAt));
            return;
        }
        var share = ShareOf(config, replicas);
        if (_shares.Enter(caller.Name, share) is { } limiter)
        {
            await RateLimitMiddleware.LimitAsync(next, context, request, caller, share, limiter);
        }
        else
        {
            await next(context);
        }
    }

    /// <summary>Each limit divided by the replicas seen, never below 1 (a pure function).</summary>
    public static ClientKeyConfig ShareOf(ClientKeyConfig config, int replicas)
    {
        if (replicas <= 1)
        {
            return config;
        }
        return config with
        {
            Rpm = config.Rpm is { } rpm ? Math.Max(1, rpm / replicas) : null,
            Tpm = config.Tpm is { } tpm ? Math.Max(1, tpm / replicas) : null,
            MaxConcurrent = config.MaxConcurrent is { } concurrent ? Math.Max(1, concurrent / replicas) : null,
        };
    }
}
