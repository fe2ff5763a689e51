using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Handlers;

/// <summary>POST /v1/{endpoint}: pins the snapshot, hands the exchange to Core, answers Core's error if nothing was sent.</summary>
internal sealed class ProxyHandler
{
    private readonly ProxyEngine _engine;
    private readonly TimeProvider _time;

    public ProxyHandler(ProxyEngine engine, TimeProvider time)
    {
        _engine = engine;
        _time = time;
    }

    public async Task HandleAsync(HttpContext context, string path)
    {
        if (!IsJson(context.Request.ContentType))
        {
            await OpenAiErrorWriter.WriteAsync(context, GatewayError.UnsupportedMediaType, "The request body must be JSON: send Content-Type: application/json.");
            return;
        }

        // Pinned when the request arrived: it uses that snapshot to its last byte, whatever reloads happen meanwhile.
        var request = GatewayRequest.Of(context);
        var query = context.Request.QueryString.Value;
        var proxied = new ProxyRequest(path, string.IsNullOrEmpty(query) ? "" : query[1..], context.TraceIdentifier, request.Caller, request.Exchange);
        var client = new HttpContextDownstream(context);
        var outcome = await _engine.ForwardAsync(request.Snapshot, proxied, client, context.RequestAborted);
        request.Outcome = outcome.Error;
        if (client.EndAbnormally)
        {
            await AbnormalEnd.CompleteAsync(context, _time);
            return;
        }
        if (outcome.Error is not (GatewayError.None or GatewayError.ClientClosedRequest or GatewayError.StreamInterrupted))
        {
            await OpenAiErrorWriter.WriteAsync(context, outcome);
        }
    }

    // Absent is accepted as JSON (curl without -H, simple scripts); anything else must say JSON.
    private static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return true;
        }
        var mediaType = contentType.AsSpan();
        int semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
        {
            var parameters = mediaType[(semicolon + 1)..].Trim();
            if (parameters.StartsWith("charset=", StringComparison.OrdinalIgnoreCase)
                && !parameters[8..].Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            mediaType = mediaType[..semicolon];
        }
        mediaType = mediaType.Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }
}

