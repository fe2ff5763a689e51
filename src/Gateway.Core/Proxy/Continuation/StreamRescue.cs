using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Resilience;

namespace Gateway.Core.Proxy.Continuation;

/// <summary>
/// on_interrupt: continue. A committed chat stream that breaks (cut or stalled) is finished by the chain's next
/// prefill-capable target: it receives the original messages plus the text already delivered as an assistant
/// message to continue, and its chunks reach the client as the rest of the same response (same id). If no target
/// accepts, the stream ends with the original interruption error, never the rejection.
/// </summary>
internal static class StreamRescue
{
    public static async ValueTask<ProxyOutcome> RunAsync(
        ProxyEngine engine, UpstreamAttempt first, TargetPicker picker, RequestBody body, RequestInspection inspection,
        IDownstream client, int attempts, CancellationToken clientAborted)
    {
        var tracker = new ContinuationTracker();
        using var events = new SseScanner(tracker);
        var origin = first.Target.Provider;
        var broken = await RelayAsync(engine, first, events, null, client);
        if (broken is null)
        {
            return new ProxyOutcome(GatewayError.None, null, attempts);
        }
        if (broken == Gone)
        {
            return new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts);
        }
        origin.Health.ReportFailure(Admission.Closed, origin.Config.Resilience.FailureThreshold, origin.Config.Resilience.Cooldown);
        var interruption = $"The stream from provider '{origin.Name}' {broken}.";
        GatewayLog.StreamInterrupted(engine.Logger, client.RequestId, origin.Name, 0, broken);

        while (tracker.CanContinue && picker.TryNext(out var target, out var admission))
        {
            var provider = target.Provider;
            var mode = provider.Config.Resilience.Prefill;
            var continuation = mode == PrefillMode.None
                ? null
                : ContinuationBody.Build(body.Data, inspection, target.Model.Span, tracker.DeliveredText, mode);
            if (continuation is null)
            {
                provider.Health.Release(admission);
                continue;
            }
            GatewayLog.StreamContinuing(engine.Logger, client.RequestId, origin.Name, broken, target.QualifiedName);
            attempts++;
            using var attempt = new UpstreamAttempt(target, admission, engine.Time, clientAborted);
            using var content = new ByteArrayContent(continuation);
            using var request = ProxyEngine.BuildRequest(target, client, content);
            var resilience = provider.Config.Resilience;
            var state = await attempt.RunAsync(
                request, provider.Config.Timeout, resilience.FirstTokenTimeout, FallbackPolicy.Default, streamRequested: true, engine.Time, clientAborted);
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
                }
                else
                {
                    provider.Health.ReportFailure(admission, resilience.FailureThreshold, resilience.Cooldown);
                }
                GatewayLog.AttemptFailed(engine.Logger, client.RequestId, provider.Name, attempts, attempt.Status != 0 ? $"refused the continuation ({attempt.Status})" : attempt.Reason);
                continue;
            }
            provider.Health.ReportSuccess(admission);
            broken = await RelayAsync(engine, attempt, events, tracker.Id, client);
            if (broken is null)
            {
                return new ProxyOutcome(GatewayError.None, null, attempts);
            }
            if (broken == Gone)
            {
                return new ProxyOutcome(GatewayError.ClientClosedRequest, null, attempts);
            }
            provider.Health.ReportFailure(Admission.Closed, resilience.FailureThreshold, resilience.Cooldown);
        }

        await ProxyEngine.EndAbnormallyAsync(client, isEventStream: true, interruption);
        return new ProxyOutcome(GatewayError.StreamInterrupted, null, attempts);
    }

    private const string Gone = "client gone";

    /// <returns>Null when the stream completed, <see cref="Gone"/> when the client left, else how it broke.</returns>
    private static async ValueTask<string?> RelayAsync(ProxyEngine engine, UpstreamAttempt attempt, SseScanner events, byte[]? id, IDownstream client)
    {
        attempt.Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
        var resilience = attempt.Target.Provider.Config.Resilience;
        using var relay = new EventRelay();
        relay.Load(attempt.Prefix);
        using var watchdog = new StreamWatchdog(engine.Time, client.ResponseBody, events, attempt.Cancellation, resilience.StreamIdleTimeout, resilience.KeepaliveInterval);
        var copy = await relay.RunAsync(attempt.Body!, client.ResponseBody, events, id, watchdog, attempt.Cancellation.Token);
        await watchdog.StopAsync();
        await attempt.Cancellation.CancelAsync();
        var broken = ProxyEngine.Interruption(copy, watchdog, events);
        return broken == "client gone" ? Gone : broken;
    }
}
