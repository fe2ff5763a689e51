using Gateway.Core.Resilience;
using Gateway.Core.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Proxy;

/// <summary>
/// One request's state as it travels the request path: what it arrived with (the pinned snapshot, the client, the
/// body and what inspecting it found), where it is routed (the strategy, and the picker over its targets, which a
/// continuation keeps using after the commit point) and how many upstream attempts it has taken. Each step gets this
/// one object instead of a list of parameters.
/// </summary>
internal sealed class RequestContext
{
    public RequestContext(
        GatewaySnapshot snapshot, ProxyRequest request, IDownstream client, RequestBody body, in RequestInspection inspection, TimeProvider time,
        ILogger logger, CancellationToken clientAborted)
    {
        Snapshot = snapshot;
        Request = request;
        Client = client;
        Body = body;
        Inspection = inspection;
        Time = time;
        Logger = logger;
        ClientAborted = clientAborted;
    }

    public GatewaySnapshot Snapshot { get; }

    /// <summary>What the request is: path, query, id, caller, and its record.</summary>
    public ProxyRequest Request { get; }

    /// <summary>The transport: the request body and headers, the response.</summary>
    public IDownstream Client { get; }

    public RequestBody Body { get; }

    public RequestInspection Inspection { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    /// <summary>Signals that the client went away: every upstream request is cancelled at once.</summary>
    public CancellationToken ClientAborted { get; }

    public ExchangeInfo Exchange => Request.Exchange;

    public string RequestId => Request.RequestId;

    /// <summary>The strategy asked for; null for a "provider/model" request.</summary>
    public StrategyRoute? Strategy { get; private set; }

    /// <summary>The chain's targets, each handed out once. A mutable struct: a field, so picking advances it in place.</summary>
    public TargetPicker Picker;

    /// <summary>Upstream attempts made so far (X-Gateway-Attempts).</summary>
    public int Attempts { get; set; }

    public void Route(StrategyRoute? strategy, in RouteTarget direct)
    {
        Strategy = strategy;
        Picker = strategy is null ? new TargetPicker(direct) : new TargetPicker(strategy);
    }

    public ProxyOutcome Outcome(GatewayError error, string? detail = null) => new(error, detail, Attempts);
}
