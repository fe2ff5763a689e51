using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// Gateway keys (config auth.keys): the API under /v1/ needs "Authorization: Bearer &lt;key&gt;" or "x-api-key";
/// the key is checked in constant time and its name travels with the request to logs and completion records.
/// Health endpoints stay open for probes. No auth section: an open gateway (warned about at start-up).
/// </summary>
internal static class AuthenticationMiddleware
{
    public static Func<RequestDelegate, RequestDelegate> Create() => next => context =>
    {
        var request = GatewayRequest.Of(context);
        var keys = request.Snapshot.Keys;
        if (keys.IsOpen || !context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
        {
            return next(context);
        }
        var presented = PresentedKey(context.Request.Headers);
        if (presented.IsEmpty)
        {
            return OpenAiErrorWriter.WriteAsync(context, GatewayError.MissingApiKey,
                "No API key: send Authorization: Bearer <your gateway key> (or x-api-key).");
        }
        var caller = keys.Find(presented);
        if (caller is null)
        {
            // The presented value is never echoed: it may be someone's real key sent to the wrong place.
            return OpenAiErrorWriter.WriteAsync(context, GatewayError.InvalidApiKey, "Incorrect API key provided.");
        }
        request.Caller = caller;
        return next(context);
    };

    private static ReadOnlySpan<char> PresentedKey(IHeaderDictionary headers)
    {
        var authorization = headers.Authorization.ToString().AsSpan().Trim();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization[7..].Trim();
        }
        return headers["x-api-key"].ToString().AsSpan().Trim();
    }
}
