using System.Diagnostics;
using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// Load shedding (server.overload): past max_concurrent_requests API requests in flight, or with its resident
/// memory at or above max_memory, a new API request is refused at once with 503 overloaded and Retry-After, before its
/// body is read or any provider is asked; requests already in flight (streams included) are not touched. Health,
/// metrics and admin endpoints are always served, so probes and operators still get through.
/// </summary>
internal static class OverloadMiddleware
{
    private static readonly TimeSpan s_retryAfter = TimeSpan.FromSeconds(1);

    public static Func<RequestDelegate, RequestDelegate> Create(OverloadGuard guard) => next => context =>
        GatewayRequest.Of(context).Snapshot.Config.Server.Overload is { } limits && context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
            ? AdmitAsync(next, context, guard, limits)
            : next(context);

    private static async Task AdmitAsync(RequestDelegate next, HttpContext context, OverloadGuard guard, OverloadConfig limits)
    {
        var refused = guard.TryEnter(limits);
        if (refused != OverloadReason.None)
        {
            bool memory = refused == OverloadReason.Memory;
            GatewayMetrics.Shed.Add(1, new TagList { { "reason", memory ? "memory" : "concurrency" } });
            await OpenAiErrorWriter.WriteAsync(context, GatewayError.Overloaded, memory
                ? $"The gateway is overloaded (memory in use at or above its limit of {guard.MemoryLimit(limits) >> 20} MiB); retry shortly."
                : $"The gateway is overloaded ({limits.MaxConcurrentRequests} requests in flight); retry shortly.", retryAfter: s_retryAfter);
            return;
        }
        try
        {
            await next(context);
        }
        finally
        {
            guard.Exit();
        }
    }
}
