using Gateway.Core.Config;

namespace Gateway.Core.Resilience;

/// <summary>What the chain does after an attempt failed before the commit point.</summary>
internal enum ChainStep
{
    /// <summary>Try the same target again after <see cref="ChainDecision.Wait"/>.</summary>
    Retry,

    /// <summary>Move on to the chain's next target.</summary>
    NextTarget,

    /// <summary>The failure is the answer: the provider's own error response goes to the client as it is.</summary>
    AnswerWithResponse,

    /// <summary>Stop here: the client gets the chain's failures (502/504/429 listing the attempts).</summary>
    GiveUp,
}

internal readonly record struct ChainDecision(ChainStep Step, TimeSpan Wait = default);

/// <summary>Why an attempt failed before the commit point, as the chain policy needs it.</summary>
/// <param name="Class">The failure class fallback_on speaks of (None: a listed 4xx status or error code).</param>
/// <param name="MayMoveOn">Listed in fallback_on: the chain may retry or move on; otherwise the failure is the answer.</param>
/// <param name="Retryable">Worth another try on the same provider (connect errors, resets, 5xx, 429 without Retry-After).</param>
/// <param name="HasErrorAnswer">The provider answered an error status whose response can be passed on.</param>
internal readonly record struct AttemptFailure(
    FailureClasses Class, bool MayMoveOn, bool Retryable, TimeSpan? RetryAfter, bool HasErrorAnswer);

/// <summary>The chain's situation when an attempt failed.</summary>
/// <param name="Retries">Retries already made on this target.</param>
/// <param name="WaitOnRateLimit">The strategy's rate_limited: wait.</param>
/// <param name="HasUntried">Targets remain that were not tried yet.</param>
/// <param name="IsDirect">A "provider/model" request: a chain of one.</param>
/// <param name="CircuitOpened">This failure opened the provider's circuit.</param>
/// <param name="Remaining">What is left of the strategy's deadline (infinite: none).</param>
/// <param name="Backoff">The jittered backoff a retry would wait (drawn by the caller, so this stays pure).</param>
internal readonly record struct ChainState(
    int Retries, ProviderResilience Resilience, bool WaitOnRateLimit, bool HasUntried, bool IsDirect, Admission Admission,
    bool CircuitOpened, TimeSpan Remaining, TimeSpan Backoff);

/// <summary>
/// The chain's rules, as pure functions of values: after a failed attempt, retry the same target (after a wait), move
/// on, answer with the provider's own error response, or give up. Table-tested without sockets.
/// </summary>
internal static class ChainPolicy
{
    /// <summary>An attempt is not started with less of the deadline left than this: it could not get its headers in time.</summary>
    public static readonly TimeSpan MinAttemptTime = TimeSpan.FromMilliseconds(50);

    /// <summary>Whether another attempt may start with <paramref name="remaining"/> of the deadline left.</summary>
    public static bool MayStartAttempt(TimeSpan remaining) => remaining == Timeout.InfiniteTimeSpan || remaining >= MinAttemptTime;

    public static ChainDecision AfterFailure(in AttemptFailure failure, in ChainState state)
    {
        if (failure.MayMoveOn && WillRetry(failure, state, out var wait))
        {
            return new ChainDecision(ChainStep.Retry, wait);
        }
        if (!failure.MayMoveOn || state.IsDirect)
        {
            // Not for fallback_on, or the last word of a "provider/model" request: the provider's own error answer goes
            // back; a 2xx that failed before its first content has none (its status would make an empty success of it).
            return new ChainDecision(failure.HasErrorAnswer ? ChainStep.AnswerWithResponse : ChainStep.GiveUp);
        }
        return new ChainDecision(ChainStep.NextTarget);
    }

    /// <summary>
    /// Another attempt on the same provider: for connect errors, resets, 5xx and 429 without Retry-After after a
    /// jittered backoff; for a 429 with a short Retry-After when the strategy waits (or no other target is left).
    /// Never after a timeout, never past the deadline, never once the circuit opened while other targets remain, and
    /// no backoff retry on a provider whose circuit is open (its half-open probe, or an attempt forced because no
    /// other target was left, is tried once): in an outage a provider sees at most one attempt per request, not
    /// one plus its retries.
    /// </summary>
    private static bool WillRetry(in AttemptFailure failure, in ChainState state, out TimeSpan wait)
    {
        wait = TimeSpan.Zero;
        if (state.Retries >= state.Resilience.Retries || (state.CircuitOpened && state.HasUntried))
        {
            return false;
        }
        if (failure.Class == FailureClasses.RateLimited && failure.RetryAfter is { } retryAfter)
        {
            bool waitHere = state.WaitOnRateLimit || !state.HasUntried;
            if (!waitHere || retryAfter > state.Resilience.MaxRetryWait)
            {
                return false;
            }
            wait = retryAfter;
        }
        else if (failure.Retryable && state.Admission == Admission.Closed && !state.CircuitOpened)
        {
            wait = state.Backoff;
        }
        else
        {
            return false;
        }
        return state.Remaining == Timeout.InfiniteTimeSpan || wait + MinAttemptTime <= state.Remaining;
    }
}
