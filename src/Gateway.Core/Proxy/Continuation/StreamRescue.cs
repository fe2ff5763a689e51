using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Resilience;
using Gateway.Core.Responses;

namespace Gateway.Core.Proxy.Continuation;

/// <summary>
/// Event streams that go through <see cref="EventRelay"/>: those with a body transform, those whose usage chunk the
/// gateway asked for (it is removed again), and on_interrupt: continue. A committed chat stream that breaks (cut or stalled) is finished by the chain's next
/// prefill-capable target: it receives the original messages plus the text already delivered as an assistant
/// message to continue, and its chunks reach the client as the rest of the same response (same id). If no target
/// accepts, the stream ends with the original interruption error, never the rejection.
/// </summary>
internal static class StreamRescue
{
    /// <param name="continuation">The chain's remaining targets when on_interrupt is continue; null to end a broken stream with its error.</param>
    public static async ValueTask<ProxyOutcome> RunAsync(
        ProxyEngine engine, UpstreamAttempt first, TargetPicker? continuation, RequestBody body, RequestInspection inspection,
        IDownstream client, int attempts, ResponseTracking? tracking, UsageTap? usage, CancellationToken clientAborted)
    {
        var outcome = await RelayChainAsync(engine, first, continuation, body, inspection, client, attempts, tracking, usage, clientAborted);
        tracking?.Complete(ProxyEngine.EndOf(outcome), client.Exchange.BytesOut);
        usage?.Record(client.Exchange, client.Caller?.Name);
        return outcome;
    }

    private static async ValueTask<ProxyOutcome> RelayChainAsync(
        ProxyEngine engine, UpstreamAttempt first, TargetPicker? continuation, RequestBody body, RequestInspection inspection,
        IDownstream client, int attempts, ResponseTracking? tracking, UsageTap? usage, CancellationToken clientAborted)
    {
        var tracker = continuation is null ? null : new ContinuationTracker();
        ISseDataSink? sink = tracker is null ? usage : usage is null ? tracker : new SinkPair(tracker, usage);
        using var events = new SseScanner(sink);
        IBodyTee observer = tracking?.Buffer is { } buffer ? new TeePair(events, buffer) : events;
        var transform = tracking?.Transform;
        var origin = first.Target.Provider;
        var (end, bytes) = await RelayAsync(engine, first, events, observer, transform, null, client);
        client.Exchange.BytesOut += bytes;
        if (!StreamEnds.IsInterruption(end) || tracker is null)
        {
            return await engine.FinishAsync(end, first, client, isEventStream: true, attempts, client.Exchange.BytesOut);
        }
        origin.Health.ReportFailure(Admission.Closed, origin.Config.Resilience.FailureThreshold, origin.Config.Resilience.Cooldown);
        var broken = StreamEnds.Describe(end, origin.Config.Resilience.StreamIdleTimeout);
        var interruption = $"The stream from provider '{origin.Name}' {broken}.";
        GatewayLog.StreamInterrupted(engine.Logger, client.RequestId, origin.Name, client.Exchange.BytesOut, broken);
        var picker = continuation!.Value;

        while (tracker.CanContinue && picker.TryNext(out var target, out var admission))
        {
            var provider = target.Provider;
            var model = target.QualifiedName[(provider.Name.Length + 1)..];
            // Prefill is a property of the model: its model_prefill entry, and whether it refused one recently.
            var mode = provider.Health.RefusesPrefill(model) ? PrefillMode.None : provider.Config.Resilience.PrefillFor(model);
            var request = mode == PrefillMode.None
                ? null
                : ContinuationBody.Build(body.Data, inspection, target.Model.Span, tracker.DeliveredText, mode);
            if (request is null)
            {
                provider.Health.Release(admission);
                continue;
            }
            GatewayLog.StreamContinuing(engine.Logger, client.RequestId, origin.Name, broken, target.QualifiedName);
            attempts++;
            using var attempt = new UpstreamAttempt(target, admission, engine.Time, clientAborted);
            attempt.StartActivity(client.Path, attempts);
            using var content = new ByteArrayContent(request);
            using var message = ProxyEngine.BuildRequest(target, client, content, attempt.TraceContext);
            var resilience = provider.Config.Resilience;
            var state = await attempt.RunAsync(
                message, provider.Config.Timeout, resilience.FirstTokenTimeout, FallbackPolicy.Default, streamRequested: true, engine.Time, clientAborted);
            if (state == AttemptState.ClientGone)
            {
                provider.Health.Release(admission);
                return new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts);
            }
            if (state != AttemptState.Committable || attempt.Status != 200 || !attempt.IsEventStream)
            {
                // A rejected prefill says nothing about the provider's health when it answered 4xx.
                if (attempt.Status is >= 400 and < 500)
                {
                    provider.Health.ReportSuccess(admission);
                    if (attempt.Status is 400 or 422)
                    {
                        provider.Health.RememberPrefillRefused(model);
                        GatewayLog.PrefillRefused(engine.Logger, target.QualifiedName, Durations.Format(ProviderHealth.PrefillRejectionMemory));
                    }
                }
                else
                {
                    provider.Health.ReportFailure(admission, resilience.FailureThreshold, resilience.Cooldown);
                }
                GatewayLog.AttemptFailed(engine.Logger, client.RequestId, provider.Name, attempts, attempt.Status != 0 ? $"refused the continuation ({attempt.Status})" : attempt.Reason);
                continue;
            }
            provider.Health.ReportSuccess(admission);
            client.Exchange.ServedBy = target.QualifiedName;
            client.Exchange.Attempts = attempts;
            (end, bytes) = await RelayAsync(engine, attempt, events, observer, transform, tracker.Id, client);
            client.Exchange.BytesOut += bytes;
            if (end == StreamEnd.Complete)
            {
                return new ProxyOutcome(GatewayError.None, null, attempts);
            }
            if (end == StreamEnd.ClientGone)
            {
                return new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts);
            }
            provider.Health.ReportFailure(Admission.Closed, resilience.FailureThreshold, resilience.Cooldown);
        }

        await ProxyEngine.EndAbnormallyAsync(client, isEventStream: true, interruption);
        return new ProxyOutcome(GatewayError.StreamInterrupted, null, attempts);
    }

    /// <returns>How the stream ended, and the bytes sent.</returns>
    private static async ValueTask<(StreamEnd End, long Bytes)> RelayAsync(
        ProxyEngine engine, UpstreamAttempt attempt, SseScanner events, IBodyTee observer, IBodyTransform? transform, byte[]? id, IDownstream client)
    {
        attempt.Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
        var resilience = attempt.Target.Provider.Config.Resilience;
        using var relay = new EventRelay(transform, dropUsageChunks: client.Exchange.InjectedStreamUsage);
        relay.Load(attempt.Prefix);
        using var watchdog = new StreamWatchdog(engine.Time, client.ResponseBody, events, attempt.Cancellation, resilience.StreamIdleTimeout, resilience.KeepaliveInterval);
        var copy = await relay.RunAsync(attempt.Body!, client.ResponseBody, observer, id, watchdog, attempt.Cancellation.Token);
        await watchdog.StopAsync();
        var end = StreamEnds.Of(copy, watchdog, events);
        if (end != StreamEnd.Complete)
        {
            await attempt.Cancellation.CancelAsync();
        }
        return (end, relay.BytesSent);
    }
}
