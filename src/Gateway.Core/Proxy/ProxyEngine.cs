using System.Net;
using System.Net.Sockets;
using Gateway.Core.Diagnostics;
using Gateway.Core.Models;
using Gateway.Core.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Proxy;

/// <summary>
/// Forwards one OpenAI-style request: read, inspect, route, send, stream back. The numbered steps match
/// docs/design.md.
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
public sealed class ProxyEngine
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
    /// <param name="clientAborted">Signals that the client went away: the upstream request is cancelled at once.</param>
    public async ValueTask<ProxyOutcome> ForwardAsync(GatewaySnapshot snapshot, IDownstream client, CancellationToken clientAborted)
    {
        // :: Step 1 — read the whole body, bounded by max_request_body_bytes; it stays in the pipe's buffers (or one rented array).
        var (readError, body) = await RequestBodyReader.ReadAsync(
            client.RequestBody, client.RequestContentLength, snapshot.MaxRequestBodyBytes, clientAborted);
        if (body is null)
        {
            return ProxyOutcome.Fail(readError, readError == GatewayError.RequestTooLarge
                ? $"The request body exceeds the limit of {snapshot.MaxRequestBodyBytes} bytes."
                : "The request body could not be read completely.");
        }

        try
        {
            // :: Step 2 — inspect: locate the top-level "model" and "stream" without deserializing the body.
            var inspection = RequestInspector.Inspect(body.Data);
            if (inspection.Error != GatewayError.None)
            {
                return ProxyOutcome.Fail(inspection.Error, inspection.ErrorDetail);
            }

            // :: Step 3 — route: "provider/model" (split at the first slash) or a strategy name.
            var knownModels = snapshot.Config.Routing.RequireKnownModel ? _catalog.Current : null;
            var route = Resolve(snapshot.Routes, knownModels, body, inspection, out var routeError, out var routeDetail);
            if (routeError != GatewayError.None)
            {
                return ProxyOutcome.Fail(routeError, routeDetail);
            }

            return await SendToTargetsAsync(route, body, inspection, client, clientAborted);
        }
        finally
        {
            // :: Step 10 — the body's buffers are released only after the last attempt has finished with them.
            body.Dispose();
        }
    }

    private async ValueTask<ProxyOutcome> SendToTargetsAsync(
        IReadOnlyList<RouteTarget> targets, RequestBody body, RequestInspection inspection, IDownstream client, CancellationToken clientAborted)
    {
        var failure = ProxyOutcome.Fail(GatewayError.NoAvailableProvider, "No enabled provider can serve this strategy.");
        for (int attempt = 1; attempt <= targets.Count; attempt++)
        {
            var target = targets[attempt - 1];
            bool isLast = attempt == targets.Count;
            var provider = target.Provider;

            // One token per attempt: the client's abort and this attempt's header timeout both cancel it.
            using var cancellation = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
            using var abortRegistration = clientAborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), cancellation);

            // :: Step 4 — build the upstream request: same bytes, model value replaced, provider key instead of the client's.
            using var request = BuildRequest(target, body, inspection, client);

            // :: Step 5 — send and wait for the response headers only; the body is never buffered.
            cancellation.CancelAfter(provider.Config.Timeout);
            HttpResponseMessage response;
            try
            {
                response = await provider.Invoker.SendAsync(request, cancellation.Token);
            }
            catch (Exception e)
            {
                var (error, reason) = Classify(e, provider, clientAborted);
                if (error == GatewayError.ClientClosedRequest)
                {
                    GatewayLog.ClientGone(_logger, client.RequestId, provider.Name);
                    return ProxyOutcome.Fail(error, reason);
                }
                GatewayLog.AttemptFailed(_logger, client.RequestId, provider.Name, attempt, reason);
                failure = ProxyOutcome.Fail(error, $"Provider '{provider.Name}' {reason}.");
                continue;
            }
            cancellation.CancelAfter(Timeout.InfiniteTimeSpan);

            using (response)
            {
                int status = (int)response.StatusCode;
                if (status is >= 300 and < 400)
                {
                    // Never followed, never passed on: a redirect would take the provider key or the client elsewhere.
                    GatewayLog.AttemptFailed(_logger, client.RequestId, provider.Name, attempt, "answered with a redirect");
                    failure = ProxyOutcome.Fail(GatewayError.UpstreamBadResponse, $"Provider '{provider.Name}' answered with a redirect ({status}).");
                    continue;
                }
                if (!isLast && (status == 429 || status >= 500))
                {
                    GatewayLog.FallingBack(_logger, client.RequestId, provider.Name, status);
                    failure = ProxyOutcome.Fail(GatewayError.UpstreamBadResponse, $"Provider '{provider.Name}' answered {status}.");
                    continue;
                }

                // :: Step 6 — start the client response: upstream status and allowed headers, plus ours.
                bool isEventStream = HeaderPolicy.IsEventStream(response);
                StartResponse(client, response, target, isEventStream);

                if (isEventStream && (await client.ResponseBody.FlushAsync(cancellation.Token)).IsCompleted)
                {
                    // Event stream headers go out at once: the client sees the stream open before the first event.
                    await cancellation.CancelAsync();
                    return ProxyOutcome.Fail(GatewayError.ClientClosedRequest, null);
                }

                // :: Step 7 — copy the body as it arrives, straight into the client's pipe (the tee hooks in here).
                var upstreamBody = response.Content.ReadAsStream(cancellation.Token);
                var (copy, bytes) = await StreamCopier.CopyAsync(upstreamBody, client.ResponseBody, tee: null, flushEachRead: isEventStream, cancellation.Token);

                // :: Step 8 — finish: complete, or end abnormally so a truncated body never looks complete.
                switch (copy)
                {
                    case CopyResult.Success:
                        return ProxyOutcome.Success;
                    case CopyResult.ClientGone:
                        // :: Step 9 — the client left: cancel the upstream read so generation stops now.
                        await cancellation.CancelAsync();
                        GatewayLog.ClientGone(_logger, client.RequestId, provider.Name);
                        return ProxyOutcome.Fail(GatewayError.ClientClosedRequest, null);
                    default:
                        GatewayLog.StreamInterrupted(_logger, client.RequestId, provider.Name, bytes);
                        if (bytes == 0 && !client.HasStarted)
                        {
                            return ProxyOutcome.Fail(GatewayError.UpstreamBadResponse, $"Provider '{provider.Name}' closed the connection before sending a body.");
                        }
                        await EndAbnormallyAsync(client, isEventStream, provider.Name);
                        return ProxyOutcome.Fail(GatewayError.StreamInterrupted, null);
                }
            }
        }
        return failure;
    }

    private static HttpRequestMessage BuildRequest(RouteTarget target, RequestBody body, RequestInspection inspection, IDownstream client)
    {
        var all = body.Data;
        var request = new HttpRequestMessage(HttpMethod.Post, target.Provider.UriFor(client.Path, client.Query))
        {
            Content = new UpstreamBodyContent(
                all.Slice(0, inspection.ModelValueStart), target.Model, all.Slice(inspection.ModelValueStart + inspection.ModelValueLength)),
        };
        var provider = target.Provider;
        if (provider.Config.BaseUrl.Scheme == Uri.UriSchemeHttps)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        }
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        HeaderPolicy.CopyRequestHeaders(client, request);
        request.Headers.TryAddWithoutValidation("X-Request-Id", client.RequestId);
        foreach (var (name, value) in provider.Config.Headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value.Reveal());
        }
        if (provider.AuthorizationHeader is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", provider.AuthorizationHeader);
        }
        return request;
    }

    private static void StartResponse(IDownstream client, HttpResponseMessage response, RouteTarget target, bool isEventStream)
    {
        client.SetStatus((int)response.StatusCode);
        HeaderPolicy.CopyResponseHeaders(response, client);
        client.SetHeader("X-Gateway-Provider", target.Provider.Name);
        client.SetHeader("X-Gateway-Model", target.QualifiedName);
        if (isEventStream)
        {
            // Proxies in front (nginx and friends) must not buffer events either.
            client.SetHeader("Cache-Control", "no-cache");
            client.SetHeader("X-Accel-Buffering", "no");
        }
        else if (response.Content.Headers.ContentLength is { } length)
        {
            client.SetContentLength(length);
        }
    }

    private static async ValueTask EndAbnormallyAsync(IDownstream client, bool isEventStream, string provider)
    {
        if (isEventStream)
        {
            // SDKs that read in-band errors raise this one; the abort below fails the others.
            ErrorBody.WriteSseEvent(client.ResponseBody, GatewayError.StreamInterrupted,
                $"The stream from provider '{provider}' was interrupted before it completed.");
            try
            {
                await client.ResponseBody.FlushAsync();
            }
            catch (Exception)
            {
                // The client may be gone already; the abort below is all that is left to do.
            }
        }
        client.Abort();
    }

    private static (GatewayError, string) Classify(Exception e, Providers.ProviderEndpoint provider, CancellationToken clientAborted)
    {
        if (clientAborted.IsCancellationRequested)
        {
            return (GatewayError.ClientClosedRequest, "The client closed the request.");
        }
        if (e is OperationCanceledException)
        {
            return (GatewayError.UpstreamTimeout, $"did not answer within {Config.Durations.Format(provider.Config.Timeout)}");
        }
        if (e is HttpRequestException http)
        {
            if (http.InnerException is TimeoutException || http.InnerException is OperationCanceledException)
            {
                return (GatewayError.UpstreamTimeout, "could not be connected to in time");
            }
            return http.HttpRequestError switch
            {
                HttpRequestError.NameResolutionError => (GatewayError.UpstreamUnreachable, "is unreachable (host name not resolved)"),
                HttpRequestError.ConnectionError when http.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused }
                    => (GatewayError.UpstreamUnreachable, "is unreachable (connection refused)"),
                HttpRequestError.ConnectionError => (GatewayError.UpstreamUnreachable, "is unreachable (connection failed)"),
                HttpRequestError.SecureConnectionError => (GatewayError.UpstreamUnreachable, "is unreachable (TLS handshake failed)"),
                HttpRequestError.ResponseEnded => (GatewayError.UpstreamBadResponse, "closed the connection without answering"),
                HttpRequestError.InvalidResponse or HttpRequestError.HttpProtocolError => (GatewayError.UpstreamBadResponse, "sent an invalid HTTP response"),
                _ when http.InnerException is IOException => (GatewayError.UpstreamBadResponse, "reset the connection before answering"),
                _ => (GatewayError.UpstreamUnreachable, "could not be reached"),
            };
        }
        return (GatewayError.UpstreamUnreachable, "could not be reached");
    }

    /// <summary>Model name → targets. Runs synchronously so the model can be decoded on the stack.</summary>
    /// <param name="knownModels">When routing.require_known_model is on: "provider/model" must be listed here.</param>
    private static IReadOnlyList<RouteTarget> Resolve(
        RouteTable routes, ModelCatalog? knownModels, RequestBody body, in RequestInspection inspection, out GatewayError error, out string? detail)
    {
        Span<byte> model = stackalloc byte[RequestInspector.MaxModelLength];
        int length = RequestInspector.GetModel(body.Data, inspection, model);
        if (length <= 0)
        {
            error = length == 0 ? GatewayError.MissingModel : GatewayError.InvalidModelName;
            detail = length == 0
                ? "'model' must not be empty."
                : $"'model' must be at most {RequestInspector.MaxModelLength} characters of letters, digits and . _ : @ / + -";
            return [];
        }
        model = model[..length];
        Span<char> name = stackalloc char[RequestInspector.MaxModelLength];
        System.Text.Ascii.ToUtf16(model, name, out _);
        name = name[..length];

        int slash = name.IndexOf('/');
        if (slash < 0)
        {
            if (routes.TryGetStrategy(name, out var strategy))
            {
                error = GatewayError.None;
                detail = null;
                return strategy.Targets;
            }
            error = GatewayError.ModelNotFound;
            detail = $"The model '{name}' does not exist: use \"provider/model\" (providers: {routes.ProviderNames}) or a strategy (strategies: {Describe(routes.StrategyNames)}).";
            return [];
        }

        var prefix = name[..slash];
        if (!routes.TryGetProvider(prefix, out var provider) || slash == length - 1)
        {
            error = GatewayError.ModelNotFound;
            detail = routes.TryGetDisabledReason(prefix, out var reason)
                ? $"The provider '{prefix}' is disabled ({reason}). Valid prefixes: {Describe(routes.ProviderNames)}."
                : slash == length - 1 && provider is not null
                    ? $"The model '{name}' names no model after the provider prefix."
                    : $"Unknown provider '{prefix}' in model '{name}'. Valid prefixes: {Describe(routes.ProviderNames)}.";
            return [];
        }

        // The upstream model is the rest after the first slash, sliced from the body in place (no copy) unless it
        // was written with escapes or straddles two buffer segments.
        var inPlace = body.Data.Slice(inspection.ModelValueStart + slash + 1, length - slash - 1);
        ReadOnlyMemory<byte> upstreamModel = !inspection.ModelIsEscaped && inPlace.IsSingleSegment
            ? inPlace.First
            : model[(slash + 1)..].ToArray();
        var qualifiedName = string.Concat(provider.Name, "/", name[(slash + 1)..]);
        if (knownModels is not null && !knownModels.Contains(qualifiedName))
        {
            error = GatewayError.ModelNotFound;
            detail = $"The model '{qualifiedName}' is not in the model list (GET /v1/models), and routing.require_known_model is on.";
            return [];
        }
        error = GatewayError.None;
        detail = null;
        return [new RouteTarget(provider, upstreamModel, qualifiedName)];
    }

    private static string Describe(string names) => names.Length == 0 ? "none" : names;
}
