using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Resilience;
using Gateway.Core.ResponseHooks;
using Gateway.Core.Routing;

namespace Gateway.Core.Proxy.Continuation;

/// <summary>
/// Event streams that go through <see cref="EventRelay"/>: those with a body transform, those whose usage chunk the
/// gateway asked for (it is removed again), and on_interrupt: continue. A committed chat stream that breaks (cut or
/// stalled) is finished by the chain's next target whose model may continue a prefill: the same chain driver
/// (<see cref="AttemptChain"/>, <see cref="ChainMode.Continue"/>) sends it the original messages plus the text already
/// delivered as an assistant message to continue, and its chunks reach the client as the rest of the same response
/// (same id). If no target accepts, the stream ends with the original interruption error, never the rejection.
/// </summary>
internal static class StreamRescue
{
    /// <param name="continuable">on_interrupt is continue: a broken stream goes to the chain's remaining targets.</param>
    public static async ValueTask<ProxyOutcome> RunAsync(
        RequestContext request, UpstreamAttempt first, bool continuable, ResponseTracking? tracking, UsageTap? usage)
    {
        var outcome = await RelayChainAsync(request, first, continuable, tracking, usage);
        // Settled before the response hooks are told the answer ended: the completion record they write reads the cost.
        Spend.SpendSettlement.Settle(request, usage);
        tracking?.Complete(ResponseRelay.EndOf(outcome), request.Exchange.BytesOut);
        return outcome;
    }

    private static async ValueTask<ProxyOutcome> RelayChainAsync(
        RequestContext request, UpstreamAttempt first, bool continuable, ResponseTracking? tracking, UsageTap? usage)
    {
        var exchange = request.Exchange;
        var tracker = continuable ? new ContinuationTracker() : null;
        ISseDataSink? sink = tracker is null ? usage : usage is null ? tracker : new SinkPair(tracker, usage);
        using var events = new SseScanner(sink);
        IBodyTee observer = tracking?.Buffer is { } buffer ? new TeePair(events, buffer) : events;
        var transform = tracking?.Transform;
        var origin = first.Target.Provider;
        var (end, bytes) = await RelayAsync(request, first, events, observer, transform, null);
        exchange.BytesOut += bytes;
        if (!StreamEnds.IsInterruption(end) || tracker is null)
        {
            return await ResponseRelay.FinishAsync(request, end, first, isEventStream: true, exchange.BytesOut);
        }
        origin.Health.ReportFailure(Admission.Closed, origin.Config.Resilience.FailureThreshold, origin.Config.Resilience.Cooldown);
        var broken = StreamEnds.Describe(end, origin.Config.Resilience.StreamIdleTimeout);
        var interruption = $"The stream from provider '{origin.Name}' {broken}.";
        GatewayLog.StreamInterrupted(request.Logger, request.RequestId, origin.Name, exchange.BytesOut, broken);

        var continuations = new ContinuationBodies(tracker, origin.Name, broken);
        while (tracker.CanContinue)
        {
            var next = await AttemptChain.RunAsync(request, continuations, ChainMode.Continue);
            if (next.Committed is not { } attempt)
            {
                if (next.Outcome.Error == GatewayError.ClientClosedRequest)
                {
                    return next.Outcome;
                }
                break;
            }
            using (attempt)
            using (next.Request)
            {
                exchange.ServedBy = attempt.Target.QualifiedName;
                exchange.Attempts = request.Attempts;
                (end, bytes) = await RelayAsync(request, attempt, events, observer, transform, tracker.Id);
                exchange.BytesOut += bytes;
                if (end == StreamEnd.Complete)
                {
                    return request.Outcome(GatewayError.None);
                }
                if (end == StreamEnd.ClientGone)
                {
                    return request.Outcome(GatewayError.ClientClosedRequest);
                }
                var resilience = attempt.Target.Provider.Config.Resilience;
                attempt.Target.Provider.Health.ReportFailure(Admission.Closed, resilience.FailureThreshold, resilience.Cooldown);
            }
        }

        await ResponseRelay.EndAbnormallyAsync(request.Client, isEventStream: true, interruption);
        return request.Outcome(GatewayError.StreamInterrupted);
    }

    /// <returns>How the stream ended, and the bytes sent.</returns>
    private static async ValueTask<(StreamEnd End, long Bytes)> RelayAsync(
        RequestContext request, UpstreamAttempt attempt, SseScanner events, IBodyTee observer, IBodyTransform? transform, byte[]? id)
    {
        var client = request.Client;
        attempt.Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
        var resilience = attempt.Target.Provider.Config.Resilience;
        using var relay = new EventRelay(transform, dropUsageChunks: request.Exchange.InjectedStreamUsage);
        relay.Load(attempt.Prefix);
        using var watchdog = new StreamWatchdog(request.Time, client.ResponseBody, events, attempt.Cancellation, resilience.StreamIdleTimeout, resilience.KeepaliveInterval);
        var copy = await relay.RunAsync(attempt.Body!, client.ResponseBody, observer, id, watchdog, attempt.Cancellation.Token);
        await watchdog.StopAsync();
        var end = StreamEnds.Of(copy, watchdog, events);
        if (end != StreamEnd.Complete)
        {
            await attempt.Cancellation.CancelAsync();
        }
        return (end, relay.BytesSent);
    }

    /// <summary>
    /// The continuation's body for each remaining target: the original request with that target's model and the text
    /// delivered so far as an assistant message to continue — only for a model that may continue a prefill (its
    /// model_prefill entry, else its provider's prefill) and has not refused one recently.
    /// </summary>
    private sealed class ContinuationBodies(ContinuationTracker tracker, string origin, string broken) : AttemptBodies
    {
        public override HttpContent? Create(RequestContext request, in RouteTarget target)
        {
            var provider = target.Provider;
            var model = target.QualifiedName[(provider.Name.Length + 1)..];
            var mode = provider.Health.RefusesPrefill(model) ? PrefillMode.None : provider.Config.Resilience.PrefillFor(model);
            var body = mode == PrefillMode.None
                ? null
                : ContinuationBody.Build(request.Body.Data, request.Inspection, target.Model.Span, tracker.DeliveredText, mode);
            if (body is null)
            {
                return null;
            }
            GatewayLog.StreamContinuing(request.Logger, request.RequestId, origin, broken, target.QualifiedName);
            return provider.Type.ContinuationBody(body, request, target);
        }
    }
}
