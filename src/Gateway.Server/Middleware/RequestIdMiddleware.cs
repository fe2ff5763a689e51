namespace Gateway.Server.Middleware;

/// <summary>
/// Gives every request an id: the client's X-Request-Id when it is a sane token, else a new one. Echoed on every
/// response (errors included) and sent to the provider, so one id follows a request through every log.
/// </summary>
internal static class RequestIdMiddleware
{
    private static readonly string s_prefix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));
    private static long s_counter;

    public static Func<RequestDelegate, RequestDelegate> Create() => next => context =>
    {
        var id = context.Request.Headers["X-Request-Id"].ToString();
        if (!IsAcceptable(id))
        {
            id = NewId();
        }
        // TraceIdentifier carries the id for the rest of the request (and into ASP.NET Core's log scopes) at no cost.
        context.TraceIdentifier = id;
        context.Response.Headers["X-Request-Id"] = id;
        return next(context);
    };

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
