using Gateway.Core.Access;
using Gateway.Core.Proxy;
using Gateway.Core.Routing;

namespace Gateway.Server.Http;

/// <summary>
/// One request's gateway state, set as a feature by the first middleware: the snapshot pinned for its whole life,
/// the caller's key once authenticated, and what it did (for the request log).
/// </summary>
internal sealed class GatewayRequest
{
    public GatewayRequest(GatewaySnapshot snapshot, long started)
    {
        Snapshot = snapshot;
        Exchange.StartTimestamp = started;
    }

    /// <summary>Read once when the request arrived: it serves the request to its last byte, whatever reloads happen.</summary>
    public GatewaySnapshot Snapshot { get; }

    public ClientKey? Caller { get; set; }

    public ExchangeInfo Exchange { get; } = new();

    /// <summary>How Core ended the request (None for a normal end).</summary>
    public GatewayError Outcome { get; set; }

    public static GatewayRequest Of(HttpContext context) => context.Features.Get<GatewayRequest>()!;
}
