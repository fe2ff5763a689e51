using Gateway.Core.Proxy;
using Gateway.Core.Routing;
using Gateway.Server.Http;

namespace Gateway.Server.Handlers;

/// <summary>POST /v1/{endpoint}: pins the snapshot, hands the exchange to Core, answers Core's error if nothing was sent.</summary>
internal sealed class ProxyHandler
{
    private readonly SnapshotHolder _snapshots;
    private readonly ProxyEngine _engine;

    public ProxyHandler(SnapshotHolder snapshots, ProxyEngine engine)
    {
        _snapshots = snapshots;
        _engine = engine;
    }

    public async Task HandleAsync(HttpContext context, string path)
    {
        if (!IsJson(context.Request.ContentType))
        {
            await OpenAiErrorWriter.WriteAsync(context, GatewayError.UnsupportedMediaType, "The request body must be JSON: send Content-Type: application/json.");
            return;
        }

        // Pinned once: this request uses this snapshot to its last byte, whatever reloads happen meanwhile.
        var snapshot = _snapshots.Current;
        var client = new HttpContextDownstream(context, path, context.TraceIdentifier);
        var outcome = await _engine.ForwardAsync(snapshot, client, context.RequestAborted);
        if (client.EndAbnormally)
        {
            throw new ResponseAbortedException();
        }
        if (outcome.Error is not (GatewayError.None or GatewayError.ClientClosedRequest or GatewayError.StreamInterrupted))
        {
            await OpenAiErrorWriter.WriteAsync(context, outcome.Error, outcome.ErrorDetail ?? "The request failed.");
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

/// <summary>
/// Ends an HTTP/1.1 response that already started without its terminating chunk: Kestrel closes the connection
/// gracefully (everything flushed is delivered) when a request fails after its response started.
/// </summary>
internal sealed class ResponseAbortedException : Exception
{
    public ResponseAbortedException() : base("The response was ended abnormally after an upstream failure.") { }

    public ResponseAbortedException(string message) : base(message) { }

    public ResponseAbortedException(string message, Exception innerException) : base(message, innerException) { }
}
