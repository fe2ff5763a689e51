using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy.Continuation;
using Gateway.Core.Resilience;
using Gateway.Core.ResponseHooks;

namespace Gateway.Core.Proxy;

/// <summary>
/// Steps 6–8, once an attempt reached the commit point: start the client's response, relay the body (the zero-copy
/// loop, or whole events when a transform, a removed usage chunk or a continuation needs them), and finish — normally,
/// or abnormally so that a truncated answer never looks complete. From here the gateway never switches target,
/// except to continue a broken stream (on_interrupt: continue).
/// </summary>
internal static class ResponseRelay
{
    public static async ValueTask<ProxyOutcome> RelayAsync(RequestContext request, UpstreamAttempt attempt, HttpRequestMessage message)
    {
        var client = request.Client;
        var response = attempt.Response!;
        var provider = attempt.Target.Provider;
        bool isError = attempt.Status >= 400;
        // An error answer is read whole before it is passed on: even with an event-stream type it is a plain body then.
        bool isEventStream = attempt.IsEventStream && !isError;
        if (isError && await attempt.BufferErrorAnswerAsync(provider.Config.Resilience.StreamIdleTimeout, request.ClientAborted) is { } unreadable)
        {
            return unreadable.Error == GatewayError.ClientClosedRequest
                ? request.Outcome(GatewayError.ClientClosedRequest)
                : request.Outcome(unreadable.Error, $"The upstream attempt failed: {attempt.Target.QualifiedName}: {unreadable.Reason}.");
        }
        if (isError && provider.Type.TranslatesErrors)
        {
            // A translating type's error is never passed on in the provider's shape: it becomes ours, from the one table.
            var info = attempt.ClassifyError(request.Time);
            request.Exchange.Attempts = request.Attempts;
            return request.Outcome(info.Error, $"Provider '{provider.Name}': {info.Message}") with { RetryAfter = info.RetryAfter };
        }
        // The header and first-token timeouts are over; from here the watchdog measures silence.
        attempt.Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
        var exchange = request.Exchange;
        exchange.ServedBy = attempt.Target.QualifiedName;
        exchange.ServedProvider = provider.Name;
        exchange.Attempts = request.Attempts;
        if (exchange.RecordLabels)
        {
            exchange.ServedLabel = request.Strategy is null ? exchange.ModelLabel : attempt.Target.QualifiedName;
        }
        if (isEventStream)
        {
            GatewayMetrics.StreamStarted();
        }
        try
        {
            // :: Step 6 — start the client response: upstream status and allowed headers, plus ours; then the response
            // middleware may change headers and ask for the body, a completion callback or a transform.
            StartResponse(client, attempt, isEventStream, request.Attempts, exchange.GatewayRateLimits);
            var snapshot = request.Snapshot;
            var tracking = snapshot.Responses.Begin(
                request.Request, client, attempt.Status, isEventStream, attempt.Target.QualifiedName, exchange.StartTimestamp, request.Body.Data, snapshot.Config.CompletionBufferMaxBytes);
            var transform = tracking?.Transform;
            if (isError)
            {
                // Buffered whole and masked: its length is what is left after masking.
                client.SetContentLength(attempt.PrefixLength);
            }
            else if (!isEventStream && transform is null && !attempt.BodyTranslated && response.Content.Headers.ContentLength is { } length)
            {
                client.SetContentLength(length);
            }
            exchange.FirstByteTimestamp = request.Time.GetTimestamp();

            // Token usage for metrics and cost is read as the answer passes (no buffer, no worker).
            bool priced = snapshot.Prices is not null;
            var usage = (GatewayMetrics.TokenUsage.Enabled || priced) && attempt.Status is >= 200 and < 300 ? new UsageTap(isEventStream) : null;
            if (isEventStream && attempt.Translation is { Facts.ClientAskedUsage: false } && attempt.Body is TranslatingStream translating)
            {
                // The client did not ask for the usage chunk. When a hook or the metrics read usage, the translator still
                // writes it and the relay removes it for the client; when nothing does, it is not written at all.
                if (tracking is not null || usage is not null)
                {
                    exchange.InjectedStreamUsage = true;
                }
                else
                {
                    translating.Translator.EmitUsage = false;
                }
            }
            bool continuable = isEventStream && request.Strategy?.Config.OnInterrupt == InterruptPolicy.Continue && attempt.Status == 200
                && request.Inspection.Stream && request.Request.Path == "chat/completions";
            // A client of the provider's own API reads its bytes, unless the answer is rewritten on the way (or may be continued elsewhere).
            request.Request.Native?.Commit(attempt.Body, passRaw: transform is null && !continuable);
            if (continuable || (isEventStream && (transform is not null || exchange.InjectedStreamUsage)))
            {
                // :: Steps 7–8 over whole events (see Continuation/StreamRescue).
                return await StreamRescue.RunAsync(request, attempt, continuable, tracking, usage);
            }
            if (transform is not null || (priced && usage is not null && !isEventStream))
            {
                // A whole answer with a price is read whole first: its cost goes out as a header (x-gateway-cost-usd).
                return await TransformedBody.RunAsync(request, attempt, transform, tracking, usage);
            }

            // :: Step 7 — copy the body as it arrives, straight into the client's pipe, watched for silence.
            using var events = isEventStream ? new SseScanner(usage) : null;
            IBodyTee? observer = events ?? (IBodyTee?)usage;
            IBodyTee? tee = tracking?.Buffer is { } buffer ? (observer is null ? buffer : new TeePair(observer, buffer)) : observer;
            var resilience = provider.Config.Resilience;
            using var watchdog = new StreamWatchdog(
                request.Time, client.ResponseBody, events, attempt.Cancellation, resilience.StreamIdleTimeout, resilience.KeepaliveInterval);
            var upstreamBody = attempt.Body ?? response.Content.ReadAsStream(attempt.Cancellation.Token);
            int written = attempt.WritePrefix(client.ResponseBody, tee);
            // Nothing reads the request body from here on (no retry, no continuation; middleware copied what it keeps):
            // the transport gets its buffers back now, so a long stream holds none. Only once the upstream has every
            // byte: over HTTP/2 the request body may still be going out while the answer streams.
            if (message.Content is UpstreamBodyContent { Sent: true })
            {
                request.Body.Release();
            }
            var (copy, bytes) = await StreamCopier.CopyAsync(
                upstreamBody, client.ResponseBody, tee, isEventStream, attempt.Cancellation.Token, watchdog, written);
            await watchdog.StopAsync();
            exchange.BytesOut = bytes;
            Spend.SpendSettlement.Settle(request, usage);

            // :: Step 8 — finish: complete, or end abnormally so a truncated body never looks complete.
            var outcome = await FinishAsync(request, StreamEnds.Of(copy, watchdog, events), attempt, isEventStream, bytes);
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

    public static CompletionEnd EndOf(in ProxyOutcome outcome) => outcome.Error switch
    {
        GatewayError.None => CompletionEnd.Completed,
        GatewayError.ClientClosedRequest => CompletionEnd.ClientAborted,
        _ => CompletionEnd.UpstreamFailed,
    };

    /// <summary>Ends a committed response: normally, as the client's departure, or abnormally with the interruption.</summary>
    public static async ValueTask<ProxyOutcome> FinishAsync(RequestContext request, StreamEnd end, UpstreamAttempt attempt, bool isEventStream, long bytes)
    {
        var provider = attempt.Target.Provider;
        if (end == StreamEnd.Complete)
        {
            return request.Outcome(GatewayError.None);
        }
        // :: Step 9 — the client left (or the stream broke): cancel the upstream read so generation stops now.
        await attempt.Cancellation.CancelAsync();
        if (end == StreamEnd.ClientGone)
        {
            GatewayLog.ClientGone(request.Logger, request.RequestId, provider.Name);
            return request.Outcome(GatewayError.ClientClosedRequest);
        }
        var resilience = provider.Config.Resilience;
        provider.Health.ReportFailure(Admission.Closed, resilience.FailureThreshold, resilience.Cooldown);
        var how = StreamEnds.Describe(end, resilience.StreamIdleTimeout);
        GatewayLog.StreamInterrupted(request.Logger, request.RequestId, provider.Name, bytes, how);
        await EndAbnormallyAsync(request.Client, isEventStream, $"The stream from provider '{provider.Name}' {how}.");
        return request.Outcome(GatewayError.StreamInterrupted);
    }

    public static async ValueTask EndAbnormallyAsync(IDownstream client, bool isEventStream, string message)
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

    private static void StartResponse(IDownstream client, UpstreamAttempt attempt, bool isEventStream, int attempts, bool gatewayRateLimits)
    {
        var target = attempt.Target;
        client.SetStatus(attempt.Status);
        HeaderPolicy.CopyResponseHeaders(attempt.Response!, client, gatewayRateLimits, target.Provider.Scrubber);
        client.SetHeader("X-Gateway-Provider", target.Provider.Name);
        client.SetHeader("X-Gateway-Model", target.QualifiedName);
        client.SetHeader("X-Gateway-Attempts", ProxyEngine.AttemptCount(attempts));
        if (attempt.Translation?.DroppedParameters is { } dropped)
        {
            client.SetHeader("X-Gateway-Dropped-Params", dropped);
        }
        if (isEventStream)
        {
            // Proxies in front (nginx and friends) must not buffer events either.
            client.SetHeader("Cache-Control", "no-cache");
            client.SetHeader("X-Accel-Buffering", "no");
        }
    }
}
