using Gateway.Core.Routing;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// Starts every request: pins the current config snapshot (<see cref="GatewayRequest"/>) and gives it an id — the
/// client's X-Request-Id when it is a sane token, else a new one. The id is echoed on every response (errors
/// included) and sent to the provider, so one id follows a request through every log.
/// </summary>
internal static class RequestIdMiddleware
{
    private static readonly string s_prefix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));
    private static long s_counter;

    public static Func<RequestDelegate, RequestDelegate> Create(SnapshotHolder snapshots, TimeProvider time) => next => async context =>
    {
        // One reference for the whole request: a reload meanwhile retires this snapshot, but its providers and
        // their connections stay open until this request (and every other one that acquired it) has ended.
        var request = new GatewayRequest(snapshots.Acquire(), time.GetTimestamp());
        try
        {
            request.Exchange.RecordNames = !request.Snapshot.Responses.IsEmpty || request.Snapshot.Config.RequestLog is not null;
            context.Features.Set(request);
            Identify(context);
            ConnectionHeaderDecoding.ApplyHiddenClose(context);
            await next(context);
        }
        finally
        {
            request.Snapshot.Release();
        }
    };

    private static void Identify(HttpContext context)
    {
        var id = context.Request.Headers["X-Request-Id"].ToString();
        if (!IsAcceptable(id))
        {
            id = NewId();
        }
        // TraceIdentifier carries the id for the rest of the request (and into ASP.NET Core's log scopes) at no cost.
        context.TraceIdentifier = id;
        context.Response.Headers["X-Request-Id"] = id;
    }

    private static string NewId() =>
        string.Create(null, stackalloc char[32], $"gw-{s_prefix}-{Interlocked.Increment(ref s_counter):x}");

    private static bool IsAcceptable(string id)
    {
        if (id.Length is 0 or > 128)
        {
            return false;
        }
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            {
                return false;
            }
        }
        return true;
    }
}
