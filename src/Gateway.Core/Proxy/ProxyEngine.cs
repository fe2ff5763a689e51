using Gateway.Core.Models;
using Gateway.Core.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Proxy;

/// <summary>
/// Forwards one OpenAI-style request: the request path, top to bottom, in <see cref="ForwardAsync"/>. The numbered
/// steps match docs/design.md.
/// </summary>
/// <remarks>
/// <code>
///  client ──POST /v1/...──▶ gateway ──(model rewritten)──▶ provider
///         ◀── status, headers, body chunks as they arrive ◀──
/// </code>
/// Commit point: until the response has started, a failure may move on to the next target of a strategy, or be
/// answered with an error status. After it started, a failure can only end the response abnormally (SSE: an error
/// event, then an abort), never with a clean end that looks like a complete answer.
/// </remarks>
internal sealed class ProxyEngine
{
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ModelCatalogHolder _catalog;

    public ProxyEngine(ILogger<ProxyEngine> logger, TimeProvider time, ModelCatalogHolder catalog)
    {
        _logger = logger;
        _time = time;
        _catalog = catalog;
    }

    /// <param name="snapshot">Pinned by the caller for this whole request.</param>
    /// <param name="proxied">What the request is (path, id, caller) and its record, which Core fills as it goes.</param>
    /// <param name="client">The transport: request body and headers, the response.</param>
    /// <param name="clientAborted">Signals that the client went away: the upstream request is cancelled at once.</param>
    public async ValueTask<ProxyOutcome> ForwardAsync(GatewaySnapshot snapshot, ProxyRequest proxied, IDownstream client, CancellationToken clientAborted)
    {
        proxied.Exchange.ForwardedHeaders = snapshot.ForwardedRequestHeaders;
        if (!Providers.UpstreamUri.IsSafePath(proxied.Path))
        {
            // The transport checks the raw target too; this keeps any embedder's path inside base_url as well.
            return ProxyOutcome.Fail(GatewayError.UnknownUrl, "Unknown URL.");
        }

        // :: Step 1 — read the whole body, bounded by max_request_body_bytes; it stays in the pipe's buffers (or one rented array).
        var (readError, body) = await RequestBodyReader.ReadAsync(
            client.RequestBody, client.RequestContentLength, snapshot.MaxRequestBodyBytes, clientAborted);
        if (body is null)
        {
            return ProxyOutcome.Fail(readError, readError == GatewayError.RequestTooLarge
                ? $"The request body exceeds the limit of {snapshot.MaxRequestBodyBytes} bytes."
                : "The request body could not be read completely.");
        }
        // :: Step 10 (at the end of this method) — the body's buffers go back only after the last attempt is done with them.
        using var owned = body;

        // :: Step 2 — inspect: locate the top-level "model" and "stream" without deserializing the body.
        var inspection = RequestInspector.Inspect(body.Data);
        if (inspection.Error != GatewayError.None)
        {
            return ProxyOutcome.Fail(inspection.Error, inspection.ErrorDetail);
        }
        var exchange = proxied.Exchange;
        exchange.Stream = inspection.Stream;
        // A stream's usage chunk is asked for (and removed again on the way back) when usage.include_in_streams says so,
        // or when answers are priced: a stream's cost, and a budget's charge, come from it.
        exchange.InjectedStreamUsage = inspection.Stream && !inspection.HasStreamOptions
            && (snapshot.Config.Usage?.IncludeInStreams == true || snapshot.Prices is not null) && proxied.Path == "chat/completions";
        exchange.BytesIn = body.Data.Length;

        // :: Step 3 — route: "provider/model" (split at the first slash) or a strategy name.
        var knownModels = snapshot.Config.Routing.RequireKnownModel ? _catalog.Current : null;
        var strategy = RouteResolver.Resolve(
            snapshot.Routes, knownModels, _catalog.Current, body, inspection, proxied, out var direct, out var routeError, out var routeDetail);
        if (routeError != GatewayError.None)
        {
            return ProxyOutcome.Fail(routeError, routeDetail);
        }
        var request = new RequestContext(snapshot, proxied, client, body, inspection, _time, _logger, clientAborted);
        request.Route(strategy, direct);

        // :: Steps 4–5 — for each attempt of the chain: build, send, wait for the commit point; retry, move on or stop.
        var chain = await AttemptChain.RunAsync(request, ForwardedBodies.Instance, ChainMode.Forward);
        if (chain.Committed is not { } attempt)
        {
            return chain.Outcome;
        }

        // :: Steps 6–8 — commit: start the response, relay the body, finish (normally, or abnormally: never a truncated clean end).
        using (attempt)
        using (chain.Request)
        {
            return await ResponseRelay.RelayAsync(request, attempt, chain.Request!);
        }
    }

    private static readonly string[] s_attemptCounts = ["0", "1", "2", "3", "4", "5", "6", "7", "8"];

    /// <summary>The X-Gateway-Attempts value, without formatting a number for the common counts.</summary>
    public static string AttemptCount(int attempts) =>
        attempts < s_attemptCounts.Length ? s_attemptCounts[attempts] : attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
