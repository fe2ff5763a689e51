using System.Net;
using Gateway.Core.Config;
using System.Diagnostics;
using Gateway.Core.Diagnostics;
using Gateway.Core.Models;
using Gateway.Core.Proxy.Continuation;
using Gateway.Core.Resilience;
using Gateway.Core.Responses;
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
        client.Exchange.ForwardedHeaders = snapshot.ForwardedRequestHeaders;
        if (!Providers.UpstreamUri.IsSafePath(client.Path))
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
            client.Exchange.Stream = inspection.Stream;
            client.Exchange.InjectedStreamUsage = inspection.Stream && !inspection.HasStreamOptions
                && snapshot.Config.Usage?.IncludeInStreams == true && client.Path == "chat/completions";
            client.Exchange.BytesIn = body.Data.Length;
            var strategy = Resolve(snapshot.Routes, knownModels, _catalog.Current, body, inspection, client, out var direct, out var routeError, out var routeDetail);
            if (routeError != GatewayError.None)
            {
                return ProxyOutcome.Fail(routeError, routeDetail);
            }

            var picker = strategy is null ? new TargetPicker(direct) : new TargetPicker(strategy);
            return await RunChainAsync(snapshot, picker, strategy, body, inspection, client, clientAborted);
        }
        finally
        {
            // :: Step 10 — the body's buffers are released only after the last attempt has finished with them.
            body.Dispose();
        }
    }

    private async ValueTask<ProxyOutcome> RunChainAsync(
        GatewaySnapshot snapshot, TargetPicker picker, StrategyRoute? strategy, RequestBody body, RequestInspection inspection, IDownstream client, CancellationToken clientAborted)
    {
        var policy = strategy?.Config.FallbackOn ?? FallbackPolicy.Default;
        long started = _time.GetTimestamp();
        var deadline = strategy?.Config.Deadline ?? Timeout.InfiniteTimeSpan;
        var failures = new ChainFailures();
        int attempts = 0;
        string? failedProvider = null;
        string? failedClass = null;
        while (picker.TryNext(out var target, out var admission))
        {
            var provider = target.Provider;
            if (failedProvider is not null && GatewayMetrics.Fallbacks.Enabled)
            {
                GatewayMetrics.Fallbacks.Add(1, new TagList { { "from", failedProvider }, { "to", provider.Name }, { "reason", failedClass } });
            }
            var resilience = provider.Config.Resilience;
            int retries = 0;
            while (true)
            {
                var remaining = Remaining(started, deadline);
                if (!ChainPolicy.MayStartAttempt(remaining))
                {
                    provider.Health.Release(admission);
                    failures.Add(target, GatewayError.UpstreamTimeout, $"not tried: the strategy's deadline of {Durations.Format(deadline)} was reached", null);
                    return failures.ToOutcome(attempts);
                }
                attempts++;

                // :: Step 4 — build the upstream request: same bytes, model value replaced, provider key instead of the client's.
                var attempt = new UpstreamAttempt(target, admission, _time, clientAborted);
                attempt.StartActivity(client.Path, attempts);
                using var request = BuildRequest(target, body, inspection, client, attempt.TraceContext);

                // :: Step 5 — send; wait for the headers, then for the first content: the commit point. Nothing is sent to the client before it.
                long attemptStarted = _time.GetTimestamp();
                var state = await attempt.RunAsync(
                    request, Min(provider.Config.Timeout, remaining), Min(resilience.FirstTokenTimeout, remaining), policy, inspection.Stream, _time, clientAborted);
                GatewayMetrics.RecordAttempt(provider.Name, attempt.Outcome(state), _time.GetElapsedTime(attemptStarted));
                if (state == AttemptState.Committable)
                {
                    ReportAnswer(attempt);
                    return await CommitAsync(snapshot, attempt, strategy, picker, body, inspection, client, attempts, request, clientAborted);
                }
                if (state == AttemptState.ClientGone)
                {
                    provider.Health.Release(admission);
                    attempt.Dispose();
                    GatewayLog.ClientGone(_logger, client.RequestId, provider.Name);
                    return new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts);
                }

                bool circuitOpened = ReportFailure(attempt);
                GatewayLog.AttemptFailed(_logger, client.RequestId, provider.Name, attempts, attempt.Reason);
                failures.Add(target, attempt.Error, attempt.Reason, attempt.RetryAfter);
                var decision = ChainPolicy.AfterFailure(attempt.Failure, new ChainState(
                    retries, resilience, strategy?.Config.RateLimited == RateLimitedPolicy.Wait, picker.HasUntried, picker.IsDirect,
                    attempt.Admission, circuitOpened, Remaining(started, deadline), Backoff.Delay(retries + 1, resilience.MaxRetryWait)));
                if (decision.Step == ChainStep.AnswerWithResponse)
                {
                    return await CommitAsync(snapshot, attempt, strategy, picker, body, inspection, client, attempts, request, clientAborted);
                }
                attempt.Dispose();
                if (decision.Step == ChainStep.GiveUp)
                {
                    return failures.ToOutcome(attempts);
                }
                if (decision.Step == ChainStep.NextTarget)
                {
                    failedProvider = provider.Name;
                    failedClass = attempt.Outcome(state);
                    break;
                }
                retries++;
                GatewayLog.Retrying(_logger, client.RequestId, provider.Name, (long)decision.Wait.TotalMilliseconds);
                try
                {
                    await Task.Delay(decision.Wait, _time, clientAborted);
                }
                catch (OperationCanceledException)
                {
                    return new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts);
                }
                admission = provider.Health.TryAdmit(out var again) ? again : Admission.Forced;
            }
        }
        return failures.ToOutcome(attempts);
    }

    private static void ReportAnswer(UpstreamAttempt attempt)
    {
        var provider = attempt.Target.Provider;
        if (attempt.Status >= 500)
        {
            provider.Health.ReportFailure(attempt.Admission, provider.Config.Resilience.FailureThreshold, provider.Config.Resilience.Cooldown);
        }
        else
        {
            provider.Health.ReportSuccess(attempt.Admission);
        }
    }

    /// <returns>True when the failure opened the provider's circuit (consecutive failures).</returns>
    private bool ReportFailure(UpstreamAttempt attempt)
    {
        var provider = attempt.Target.Provider;
        var resilience = provider.Config.Resilience;
        if (attempt.FailureClass == FailureClasses.None)
        {
            // A listed 4xx (e.g. context_length_exceeded): the provider is fine, the request was too big for it.
            provider.Health.ReportSuccess(attempt.Admission);
            return false;
        }
        if (attempt.FailureClass == FailureClasses.RateLimited && attempt.RetryAfter is { } retryAfter)
        {
            // Cooling for a Retry-After is not the circuit opening: with rate_limited: wait the same provider may be retried.
            provider.Health.ReportRateLimited(attempt.Admission, retryAfter, resilience.Cooldown);
            return false;
        }
        bool opened = provider.Health.ReportFailure(attempt.Admission, resilience.FailureThreshold, resilience.Cooldown);
        if (opened)
        {
            GatewayLog.CircuitOpened(_logger, provider.Name, Durations.Format(resilience.Cooldown));
        }
        return opened;
    }

    /// <summary>Steps 6–9: the answer goes to the client; from here on the gateway never switches target.</summary>
    private async ValueTask<ProxyOutcome> CommitAsync(
        GatewaySnapshot snapshot, UpstreamAttempt attempt, StrategyRoute? strategy, TargetPicker picker, RequestBody body, RequestInspection inspection,
        IDownstream client, int attempts, HttpRequestMessage request, CancellationToken clientAborted)
    {
        using var owned = attempt;
        var response = attempt.Response!;
        var provider = attempt.Target.Provider;
        bool isError = attempt.Status >= 400;
        // An error answer is read whole before it is passed on: even with an event-stream type it is a plain body then.
        bool isEventStream = attempt.IsEventStream && !isError;
        if (isError && await attempt.BufferErrorAnswerAsync(provider.Config.Resilience.StreamIdleTimeout, clientAborted) is { } unreadable)
        {
            return unreadable.Error == GatewayError.ClientClosedRequest
                ? new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts)
                : new ProxyOutcome(unreadable.Error, $"The upstream attempt failed: {attempt.Target.QualifiedName}: {unreadable.Reason}.", attempts);
        }
        // The header and first-token timeouts are over; from here the watchdog measures silence.
        attempt.Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
        var exchange = client.Exchange;
        exchange.ServedBy = attempt.Target.QualifiedName;
        exchange.ServedProvider = attempt.Target.Provider.Name;
        exchange.Attempts = attempts;
        if (exchange.RecordLabels)
        {
            exchange.ServedLabel = strategy is null ? exchange.ModelLabel : attempt.Target.QualifiedName;
        }
        if (isEventStream)
        {
            GatewayMetrics.StreamStarted();
        }
        try
        {
            // :: Step 6 — start the client response: upstream status and allowed headers, plus ours; then the response
            // middleware may change headers and ask for the body, a completion callback or a transform.
            StartResponse(client, response, attempt.Target, isEventStream, attempts);
            var tracking = snapshot.Responses.Begin(client, attempt.Status, isEventStream, attempt.Target.QualifiedName, exchange.StartTimestamp, body.Data, snapshot.Config.CompletionBufferMaxBytes);
            var transform = tracking?.Transform;
            if (isError)
            {
                // Buffered whole and masked: its length is what is left after masking.
                client.SetContentLength(attempt.PrefixLength);
            }
            else if (!isEventStream && transform is null && response.Content.Headers.ContentLength is { } length)
            {
                client.SetContentLength(length);
            }
            exchange.FirstByteTimestamp = _time.GetTimestamp();

            // Token usage for metrics is read as the answer passes (no buffer, no worker).
            var usage = GatewayMetrics.TokenUsage.Enabled && attempt.Status is >= 200 and < 300 ? new UsageTap(isEventStream) : null;
            bool rescuable = isEventStream && strategy?.Config.OnInterrupt == InterruptPolicy.Continue && attempt.Status == 200
                && inspection.Stream && client.Path == "chat/completions";
            if (rescuable || (isEventStream && (transform is not null || exchange.InjectedStreamUsage)))
            {
                return await StreamRescue.RunAsync(this, attempt, rescuable ? picker : null, body, inspection, client, attempts, tracking, usage, clientAborted);
            }
            if (transform is not null)
            {
                return await TransformedBody.RunAsync(this, attempt, transform, client, attempts, tracking!, usage);
            }

            using var events = isEventStream ? new SseScanner(usage) : null;
            IBodyTee? observer = events ?? (IBodyTee?)usage;
            IBodyTee? tee = tracking?.Buffer is { } buffer ? (observer is null ? buffer : new TeePair(observer, buffer)) : observer;

            // :: Step 7 — copy the body as it arrives, straight into the client's pipe, watched for silence.
            var resilience = provider.Config.Resilience;
            using var watchdog = new StreamWatchdog(_time, client.ResponseBody, events, attempt.Cancellation, resilience.StreamIdleTimeout, resilience.KeepaliveInterval);
            var upstreamBody = attempt.Body ?? response.Content.ReadAsStream(attempt.Cancellation.Token);
            int written = attempt.WritePrefix(client.ResponseBody, tee);
            // Nothing reads the request body from here on (no retry, no continuation; middleware copied what it keeps):
            // the transport gets its buffers back now, so a long stream holds none. Only once the upstream has every
            // byte: over HTTP/2 the request body may still be going out while the answer streams.
            if (request.Content is UpstreamBodyContent { Sent: true })
            {
                body.Release();
            }
            var (copy, bytes) = await StreamCopier.CopyAsync(
                upstreamBody, client.ResponseBody, tee, isEventStream, attempt.Cancellation.Token, watchdog, written);
            await watchdog.StopAsync();
            exchange.BytesOut = bytes;
            usage?.Record(exchange, client.Caller?.Name);

            // :: Step 8 — finish: complete, or end abnormally so a truncated body never looks complete.
            var outcome = await FinishAsync(StreamEnds.Of(copy, watchdog, events), attempt, client, isEventStream, attempts, bytes);
            tracking?.Complete(EndOf(outcome), bytes);
            return outcome;
    
        }
        finally
        {
            if (isEventStream)
            {
                GatewayMetrics.StreamEnded();
            }
        }
    }

    internal static CompletionEnd EndOf(in ProxyOutcome outcome) => outcome.Error switch
    {
        GatewayError.None => CompletionEnd.Completed,
        GatewayError.ClientClosedRequest => CompletionEnd.ClientAborted,
        _ => CompletionEnd.UpstreamFailed,
    };

    /// <summary>Ends a committed response: normally, as the client's departure, or abnormally with the interruption.</summary>
    internal async ValueTask<ProxyOutcome> FinishAsync(
        StreamEnd end, UpstreamAttempt attempt, IDownstream client, bool isEventStream, int attempts, long bytes)
    {
        var provider = attempt.Target.Provider;
        if (end == StreamEnd.Complete)
        {
            return new ProxyOutcome(GatewayError.None, null, attempts);
        }
        // :: Step 9 — the client left (or the stream broke): cancel the upstream read so generation stops now.
        await attempt.Cancellation.CancelAsync();
        if (end == StreamEnd.ClientGone)
        {
            GatewayLog.ClientGone(_logger, client.RequestId, provider.Name);
            return new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts);
        }
        var resilience = provider.Config.Resilience;
        provider.Health.ReportFailure(Admission.Closed, resilience.FailureThreshold, resilience.Cooldown);
        var how = StreamEnds.Describe(end, resilience.StreamIdleTimeout);
        GatewayLog.StreamInterrupted(_logger, client.RequestId, provider.Name, bytes, how);
        await EndAbnormallyAsync(client, isEventStream, $"The stream from provider '{provider.Name}' {how}.");
        return new ProxyOutcome(GatewayError.StreamInterrupted, null, attempts);
    }

    private static readonly byte[] s_includeUsage = "\"stream_options\":{\"include_usage\":true},"u8.ToArray();

    internal static HttpRequestMessage BuildRequest(RouteTarget target, RequestBody body, RequestInspection inspection, IDownstream client, Activity? trace)
    {
        var data = body.Data;
        var suffix = data.Slice(inspection.ModelValueStart + inspection.ModelValueLength);
        if (!client.Exchange.InjectedStreamUsage)
        {
            return BuildRequest(target, client, new UpstreamBodyContent(data.Slice(0, inspection.ModelValueStart), target.Model, suffix), trace);
        }
        long afterBrace = inspection.ObjectStart + 1;
        return BuildRequest(target, client, new UpstreamBodyContent(
            data.Slice(0, afterBrace), s_includeUsage, data.Slice(afterBrace, inspection.ModelValueStart - afterBrace), target.Model, suffix), trace);
    }

    /// <param name="trace">The span whose context goes to the provider as traceparent (none: the client's passes through).</param>
    internal static HttpRequestMessage BuildRequest(RouteTarget target, IDownstream client, HttpContent content, Activity? trace)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, target.Provider.UriFor(client.Path, client.Query)) { Content = content };
        var provider = target.Provider;
        if (provider.Config.BaseUrl.Scheme == Uri.UriSchemeHttps)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        }
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        HeaderPolicy.CopyRequestHeaders(client, request, client.Exchange.ForwardedHeaders);
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
        if (trace is not null)
        {
            request.Headers.Remove("traceparent");
            request.Headers.Remove("tracestate");
            request.Headers.TryAddWithoutValidation("traceparent", trace.Id);
            if (trace.TraceStateString is { } state)
            {
                request.Headers.TryAddWithoutValidation("tracestate", state);
            }
        }
        return request;
    }

    private static void StartResponse(IDownstream client, HttpResponseMessage response, RouteTarget target, bool isEventStream, int attempts)
    {
        client.SetStatus((int)response.StatusCode);
        HeaderPolicy.CopyResponseHeaders(response, client, client.Exchange.GatewayRateLimits, target.Provider.Scrubber);
        client.SetHeader("X-Gateway-Provider", target.Provider.Name);
        client.SetHeader("X-Gateway-Model", target.QualifiedName);
        client.SetHeader("X-Gateway-Attempts", AttemptCount(attempts));
        if (isEventStream)
        {
            // Proxies in front (nginx and friends) must not buffer events either.
            client.SetHeader("Cache-Control", "no-cache");
            client.SetHeader("X-Accel-Buffering", "no");
        }
    }

    private static readonly string[] s_attemptCounts = ["0", "1", "2", "3", "4", "5", "6", "7", "8"];

    /// <summary>The X-Gateway-Attempts value, without formatting a number for the common counts.</summary>
    public static string AttemptCount(int attempts) =>
        attempts < s_attemptCounts.Length ? s_attemptCounts[attempts] : attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);

    internal static async ValueTask EndAbnormallyAsync(IDownstream client, bool isEventStream, string message)
    {
        if (isEventStream)
        {
            // SDKs that read in-band errors raise this one; the abort below fails the others.
            ErrorBody.WriteSseEvent(client.ResponseBody, GatewayError.StreamInterrupted, message);
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

    private TimeSpan Remaining(long started, TimeSpan deadline) =>
        deadline == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : deadline - _time.GetElapsedTime(started);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => b == Timeout.InfiniteTimeSpan || a < b ? a : b;

    internal TimeProvider Time => _time;

    internal ILogger Logger => _logger;

    /// <summary>Model name → targets. Runs synchronously so the model can be decoded on the stack.</summary>
    /// <param name="knownModels">When routing.require_known_model is on: "provider/model" must be listed here.</param>
    /// <returns>The strategy, or null with <paramref name="direct"/> set for a "provider/model" request.</returns>
    private static StrategyRoute? Resolve(
        RouteTable routes, ModelCatalog? knownModels, ModelCatalog catalog, RequestBody body, in RequestInspection inspection, IDownstream client,
        out RouteTarget direct, out GatewayError error, out string? detail)
    {
        direct = default;
        // Unescaping never lengthens the value; anything longer than the maximum is rejected by GetModel anyway.
        Span<byte> model = stackalloc byte[Math.Min(inspection.ModelValueLength, RequestInspector.MaxModelLength)];
        int length = RequestInspector.GetModel(body.Data, inspection, model);
        if (length <= 0)
        {
            error = length == 0 ? GatewayError.MissingModel : GatewayError.InvalidModelName;
            detail = length == 0
                ? "'model' must not be empty."
                : $"'model' must be at most {RequestInspector.MaxModelLength} characters of letters, digits and . _ : @ / + -";
            return null;
        }
        model = model[..length];
        Span<char> name = stackalloc char[length];
        System.Text.Ascii.ToUtf16(model, name, out _);
        if (client.Exchange.RecordNames)
        {
            client.Exchange.RequestedModel = new string(name);
        }
        if (client.Caller is { } caller && !caller.MayUse(name))
        {
            error = GatewayError.ModelNotAllowed;
            detail = $"The key '{caller.Name}' may not use the model '{name}'.";
            return null;
        }

        int slash = name.IndexOf('/');
        if (slash < 0)
        {
            if (routes.TryGetStrategy(name, out var strategy))
            {
                if (client.Exchange.RecordLabels)
                {
                    client.Exchange.ModelLabel = strategy.Name;
                }
                error = strategy.Targets.Count == 0 ? GatewayError.NoAvailableProvider : GatewayError.None;
                detail = strategy.Targets.Count == 0 ? $"No enabled provider can serve strategy '{strategy.Name}'." : null;
                return strategy;
            }
            error = GatewayError.ModelNotFound;
            detail = $"The model '{name}' does not exist: use \"provider/model\" (providers: {routes.ProviderNames}) or a strategy (strategies: {Describe(routes.StrategyNames)}).";
            return null;
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
            return null;
        }

        // The upstream model is the rest after the first slash, sliced from the body in place (no copy) unless it
        // was written with escapes or straddles two buffer segments.
        var inPlace = body.Data.Slice(inspection.ModelValueStart + slash + 1, length - slash - 1);
        ReadOnlyMemory<byte> upstreamModel = !inspection.ModelIsEscaped && inPlace.IsSingleSegment
            ? inPlace.First
            : model[(slash + 1)..].ToArray();
        var qualifiedName = string.Concat(provider.Name, "/", name[(slash + 1)..]);
        if (client.Exchange.RecordLabels)
        {
            // Clients can send any model name: only listed ones become label values.
            client.Exchange.ModelLabel = catalog.Contains(qualifiedName) ? qualifiedName : GatewayMetrics.OtherModel;
        }
        if (knownModels is not null && !knownModels.Contains(qualifiedName))
        {
            error = GatewayError.ModelNotFound;
            detail = $"The model '{qualifiedName}' is not in the model list (GET /v1/models), and routing.require_known_model is on.";
            return null;
        }
        error = GatewayError.None;
        detail = null;
        direct = new RouteTarget(provider, upstreamModel, qualifiedName);
        return null;
    }

    private static string Describe(string names) => names.Length == 0 ? "none" : names;
}
