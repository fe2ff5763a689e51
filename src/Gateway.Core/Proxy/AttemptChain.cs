using System.Diagnostics;
using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Resilience;
using Gateway.Core.Routing;

namespace Gateway.Core.Proxy;

/// <summary>Why a chain runs: to answer the request, or to continue a committed stream that broke.</summary>
internal enum ChainMode
{
    /// <summary>Steps 4–5 for the request: fallback_on, retries and the deadline apply; a listed failure may be the answer.</summary>
    Forward,

    /// <summary>
    /// on_interrupt: continue, after the commit point: each remaining target that may continue is asked once; only a
    /// 200 event stream is taken, anything else moves on (the client keeps the original interruption if none is).
    /// </summary>
    Continue,
}

/// <summary>The attempt that reached the commit point (with its request, released after the relay), or the outcome when none did.</summary>
internal readonly record struct ChainResult(UpstreamAttempt? Committed, HttpRequestMessage? Request, ProxyOutcome Outcome);

/// <summary>The upstream body of each attempt of a chain (the forwarded request, or a continuation).</summary>
internal abstract class AttemptBodies
{
    /// <returns>The body for <paramref name="target"/>, or null when this target cannot take this request (it is skipped).</returns>
    public abstract HttpContent? Create(RequestContext request, in RouteTarget target);
}

/// <summary>The forwarded request: the provider type's body for the client's (step 4).</summary>
internal sealed class ForwardedBodies : AttemptBodies
{
    public static readonly ForwardedBodies Instance = new();

    public override HttpContent? Create(RequestContext request, in RouteTarget target) => target.Provider.Type.CreateBody(request, target);
}

/// <summary>
/// Steps 4–5, for every attempt of a chain: build the upstream request, send it, wait for the commit point, and —
/// when it fails — report the provider's health and let <see cref="ChainPolicy"/> decide the next step. The same
/// driver serves the request and, after the commit point, the continuation of a broken stream.
/// </summary>
internal static class AttemptChain
{
    public static async ValueTask<ChainResult> RunAsync(RequestContext request, AttemptBodies bodies, ChainMode mode)
    {
        var time = request.Time;
        var client = request.Client;
        var strategy = request.Strategy;
        var policy = mode == ChainMode.Forward ? strategy?.Config.FallbackOn ?? FallbackPolicy.Default : FallbackPolicy.Default;
        var deadline = mode == ChainMode.Forward ? strategy?.Config.Deadline ?? Timeout.InfiniteTimeSpan : Timeout.InfiniteTimeSpan;
        long started = time.GetTimestamp();
        var failures = new ChainFailures();
        string? failedProvider = null;
        string? failedClass = null;
        while (request.Picker.TryNext(out var target, out var admission))
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
                var remaining = Remaining(time, started, deadline);
                if (!ChainPolicy.MayStartAttempt(remaining))
                {
                    provider.Health.Release(admission);
                    failures.Add(target, GatewayError.UpstreamTimeout, $"not tried: the strategy's deadline of {Durations.Format(deadline)} was reached", null);
                    return new ChainResult(null, null, failures.ToOutcome(request.Attempts));
                }
                var content = bodies.Create(request, target);
                if (content is null)
                {
                    provider.Health.Release(admission);
                    break;
                }
                if (content is Providers.Translation.TranslatedRequest { Refusal: { } refusal })
                {
                    // The request cannot be said in this provider's format: the client's error, unless another target can take it.
                    provider.Health.Release(admission);
                    content.Dispose();
                    GatewayLog.AttemptFailed(request.Logger, request.RequestId, provider.Name, request.Attempts, refusal.Message);
                    if (request.Picker.HasUntried)
                    {
                        failures.Add(target, refusal.Error, refusal.Message, null);
                        break;
                    }
                    return new ChainResult(null, null, request.Outcome(refusal.Error, refusal.Message) with { Param = refusal.Param });
                }
                request.Attempts++;

                // :: Step 4 — build the upstream request: the provider type's body and credentials, our allowed headers.
                var attempt = new UpstreamAttempt(target, admission, time, request.ClientAborted);
                attempt.StartActivity(request.Request.Path, request.Attempts);
                var message = UpstreamRequest.Build(target, request, content, attempt.TraceContext);

                // :: Step 5 — send; wait for the headers, then for the first content: the commit point. Nothing is sent to the client before it.
                long attemptStarted = time.GetTimestamp();
                var result = await attempt.RunAsync(
                    message, Min(provider.Config.Timeout, remaining), Min(resilience.FirstTokenTimeout, remaining), policy,
                    streamRequested: mode == ChainMode.Continue || request.Inspection.Stream, time, request.ClientAborted);
                GatewayMetrics.RecordAttempt(provider.Name, attempt.Outcome(result), time.GetElapsedTime(attemptStarted));
                if (result.State == AttemptState.ClientGone)
                {
                    provider.Health.Release(admission);
                    Discard(attempt, message);
                    GatewayLog.ClientGone(request.Logger, request.RequestId, provider.Name);
                    return new ChainResult(null, null, request.Outcome(GatewayError.ClientClosedRequest));
                }
                if (mode == ChainMode.Continue)
                {
                    if (result.State == AttemptState.Committable && attempt.Status == 200 && attempt.IsEventStream)
                    {
                        provider.Health.ReportSuccess(admission);
                        return new ChainResult(attempt, message, default);
                    }
                    ReportRefusedContinuation(request, attempt, result);
                    Discard(attempt, message);
                    break;
                }
                if (result.State == AttemptState.Committable)
                {
                    ReportAnswer(attempt);
                    return new ChainResult(attempt, message, default);
                }

                bool circuitOpened = ReportFailure(request, attempt, result.Failure);
                GatewayLog.AttemptFailed(request.Logger, request.RequestId, provider.Name, request.Attempts, result.Reason);
                failures.Add(target, result.Error, result.Reason, result.Failure.RetryAfter);
                var decision = ChainPolicy.AfterFailure(result.Failure, new ChainState(
                    retries, resilience, strategy?.Config.RateLimited == RateLimitedPolicy.Wait, request.Picker.HasUntried, request.Picker.IsDirect,
                    attempt.Admission, circuitOpened, Remaining(time, started, deadline), Backoff.Delay(retries + 1, resilience.MaxRetryWait)));
                if (decision.Step == ChainStep.AnswerWithResponse)
                {
                    return new ChainResult(attempt, message, default);
                }
                Discard(attempt, message);
                if (decision.Step == ChainStep.GiveUp)
                {
                    return new ChainResult(null, null, failures.ToOutcome(request.Attempts));
                }
                if (decision.Step == ChainStep.NextTarget)
                {
                    failedProvider = provider.Name;
                    failedClass = attempt.Outcome(result);
                    break;
                }
                retries++;
                GatewayLog.Retrying(request.Logger, request.RequestId, provider.Name, (long)decision.Wait.TotalMilliseconds);
                try
                {
                    await Task.Delay(decision.Wait, time, request.ClientAborted);
                }
                catch (OperationCanceledException)
                {
                    return new ChainResult(null, null, request.Outcome(GatewayError.ClientClosedRequest));
                }
                admission = provider.Health.TryAdmit(out var again) ? again : Admission.Forced;
            }
        }
        return new ChainResult(null, null, failures.ToOutcome(request.Attempts));
    }

    private static void Discard(UpstreamAttempt attempt, HttpRequestMessage message)
    {
        attempt.Dispose();
        message.Dispose();
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
    private static bool ReportFailure(RequestContext request, UpstreamAttempt attempt, in AttemptFailure failure)
    {
        var provider = attempt.Target.Provider;
        var resilience = provider.Config.Resilience;
        if (failure.Class == FailureClasses.None)
        {
            // A listed 4xx (e.g. context_length_exceeded): the provider is fine, the request was too big for it.
            provider.Health.ReportSuccess(attempt.Admission);
            return false;
        }
        if (failure.Class == FailureClasses.RateLimited && failure.RetryAfter is { } retryAfter)
        {
            // Cooling for a Retry-After is not the circuit opening: with rate_limited: wait the same provider may be retried.
            provider.Health.ReportRateLimited(attempt.Admission, retryAfter, resilience.Cooldown);
            provider.Health.Shared?.Opened(provider.Name, retryAfter < resilience.Cooldown ? retryAfter : resilience.Cooldown);
            return false;
        }
        bool opened = provider.Health.ReportFailure(attempt.Admission, resilience.FailureThreshold, resilience.Cooldown);
        if (opened)
        {
            GatewayLog.CircuitOpened(request.Logger, provider.Name, Durations.Format(resilience.Cooldown));
            if (failure.Class != FailureClasses.Connect)
            {
                // What the provider did is every replica's concern; that this replica could not connect is its own.
                provider.Health.Shared?.Opened(provider.Name, resilience.Cooldown);
            }
        }
        return opened;
    }

    /// <summary>A target that did not take a continuation: a 4xx says nothing about its health (a 400/422 is a refused prefill).</summary>
    private static void ReportRefusedContinuation(RequestContext request, UpstreamAttempt attempt, in AttemptResult result)
    {
        var target = attempt.Target;
        var provider = target.Provider;
        var resilience = provider.Config.Resilience;
        if (attempt.Status is >= 400 and < 500)
        {
            provider.Health.ReportSuccess(attempt.Admission);
            if (attempt.Status is 400 or 422)
            {
                provider.Health.RememberPrefillRefused(target.QualifiedName[(provider.Name.Length + 1)..]);
                GatewayLog.PrefillRefused(request.Logger, target.QualifiedName, Durations.Format(ProviderHealth.PrefillRejectionMemory));
            }
        }
        else
        {
            provider.Health.ReportFailure(attempt.Admission, resilience.FailureThreshold, resilience.Cooldown);
        }
        GatewayLog.AttemptFailed(request.Logger, request.RequestId, provider.Name, request.Attempts,
            attempt.Status != 0 ? $"refused the continuation ({attempt.Status})" : result.Reason);
    }

    private static TimeSpan Remaining(TimeProvider time, long started, TimeSpan deadline) =>
        deadline == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : deadline - time.GetElapsedTime(started);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => b == Timeout.InfiniteTimeSpan || a < b ? a : b;
}
