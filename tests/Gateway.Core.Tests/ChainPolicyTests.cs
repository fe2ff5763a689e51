using Gateway.Core.Config;
using Gateway.Core.Resilience;

namespace Gateway.Core.Tests;

/// <summary>The chain's rules as a table: each row one failed attempt in one situation, and the step that follows.</summary>
public sealed class ChainPolicyTests
{
    private static readonly TimeSpan Infinite = Timeout.InfiniteTimeSpan;
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(150);

    public enum Failure { Connect, Timeout, ServerError, RateLimited, RateLimitedWithRetryAfter, RateLimitedLongRetryAfter, ListedStatus, NotListed, Empty2xx }

    private static AttemptFailure Make(Failure failure) => failure switch
    {
        Failure.Connect => new(FailureClasses.Connect, MayMoveOn: true, Retryable: true, null, HasErrorAnswer: false),
        Failure.Timeout => new(FailureClasses.Timeout, true, false, null, false),
        Failure.ServerError => new(FailureClasses.ServerError, true, true, null, true),
        Failure.RateLimited => new(FailureClasses.RateLimited, true, true, null, true),
        Failure.RateLimitedWithRetryAfter => new(FailureClasses.RateLimited, true, false, TimeSpan.FromSeconds(2), true),
        Failure.RateLimitedLongRetryAfter => new(FailureClasses.RateLimited, true, false, TimeSpan.FromSeconds(30), true),
        Failure.ListedStatus => new(FailureClasses.None, true, false, null, true),
        Failure.NotListed => new(FailureClasses.ServerError, false, true, null, true),
        Failure.Empty2xx => new(FailureClasses.ServerError, false, true, null, false),
        _ => throw new ArgumentOutOfRangeException(nameof(failure)),
    };

    /// <summary>failure, retries so far, direct, untried targets left, rate_limited: wait, admission, circuit opened, deadline left (ms, -1 none) → step, wait (ms).</summary>
    public static TheoryData<Failure, int, bool, bool, bool, object, bool, int, string, int> Rows => new()
    {
        // Retries on the same provider: connect errors, 5xx and 429 without Retry-After, after the backoff.
        { Failure.Connect, 0, false, true, false, Admission.Closed, false, -1, "Retry", 150 },
        { Failure.ServerError, 0, true, false, false, Admission.Closed, false, -1, "Retry", 150 },
        { Failure.RateLimited, 0, false, true, false, Admission.Closed, false, -1, "Retry", 150 },
        // ... until the retries are spent: then on to the next target, or the provider's own answer for a direct request.
        { Failure.ServerError, 1, false, true, false, Admission.Closed, false, -1, "NextTarget", 0 },
        { Failure.ServerError, 1, true, false, false, Admission.Closed, false, -1, "AnswerWithResponse", 0 },
        { Failure.Connect, 1, true, false, false, Admission.Closed, false, -1, "GiveUp", 0 },
        // A timeout is never retried on the same silent provider.
        { Failure.Timeout, 0, false, true, false, Admission.Closed, false, -1, "NextTarget", 0 },
        { Failure.Timeout, 0, true, false, false, Admission.Closed, false, -1, "GiveUp", 0 },
        // No backoff retry on a provider whose circuit is open, or once this failure opened it while others remain.
        { Failure.Connect, 0, false, true, false, Admission.Probe, false, -1, "NextTarget", 0 },
        { Failure.Connect, 0, false, true, false, Admission.Forced, false, -1, "NextTarget", 0 },
        { Failure.Connect, 0, false, true, false, Admission.Closed, true, -1, "NextTarget", 0 },
        { Failure.Connect, 0, false, false, false, Admission.Closed, true, -1, "NextTarget", 0 },
        // A 429 with Retry-After: failover moves on; wait (or no other target left) waits it out when short enough.
        { Failure.RateLimitedWithRetryAfter, 0, false, true, false, Admission.Closed, false, -1, "NextTarget", 0 },
        { Failure.RateLimitedWithRetryAfter, 0, false, true, true, Admission.Closed, false, -1, "Retry", 2000 },
        { Failure.RateLimitedWithRetryAfter, 0, false, false, false, Admission.Closed, false, -1, "Retry", 2000 },
        { Failure.RateLimitedWithRetryAfter, 0, true, false, false, Admission.Closed, false, -1, "Retry", 2000 },
        { Failure.RateLimitedWithRetryAfter, 0, false, true, true, Admission.Forced, false, -1, "Retry", 2000 },
        { Failure.RateLimitedLongRetryAfter, 0, false, true, true, Admission.Closed, false, -1, "NextTarget", 0 },
        { Failure.RateLimitedLongRetryAfter, 0, true, false, false, Admission.Closed, false, -1, "AnswerWithResponse", 0 },
        // The deadline: no wait that would leave less than 50 ms for the attempt after it.
        { Failure.Connect, 0, false, true, false, Admission.Closed, false, 199, "NextTarget", 0 },
        { Failure.Connect, 0, false, true, false, Admission.Closed, false, 200, "Retry", 150 },
        { Failure.RateLimitedWithRetryAfter, 0, false, true, true, Admission.Closed, false, 1000, "NextTarget", 0 },
        // A listed status or code moves on (never retried on the same provider); the last word of a direct request is its answer.
        { Failure.ListedStatus, 0, false, true, false, Admission.Closed, false, -1, "NextTarget", 0 },
        { Failure.ListedStatus, 0, true, false, false, Admission.Closed, false, -1, "AnswerWithResponse", 0 },
        // Not in fallback_on: the answer, at once, even with retries and targets left.
        { Failure.NotListed, 0, false, true, false, Admission.Closed, false, -1, "AnswerWithResponse", 0 },
        // ... unless it has no answer to give (a 2xx that failed before its first content): never an empty success.
        { Failure.Empty2xx, 0, false, true, false, Admission.Closed, false, -1, "GiveUp", 0 },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void AfterFailure_DecidesTheNextStep(
        Failure failure, int retries, bool direct, bool untried, bool waitOnRateLimit, object admission, bool circuitOpened, int remainingMs,
        string step, int waitMs)
    {
        var resilience = ProviderResilience.Default with { Retries = 1, MaxRetryWait = TimeSpan.FromSeconds(5) };
        var remaining = remainingMs < 0 ? Infinite : TimeSpan.FromMilliseconds(remainingMs);
        var state = new ChainState(retries, resilience, waitOnRateLimit, untried, direct, (Admission)admission, circuitOpened, remaining, Backoff);

        var decision = ChainPolicy.AfterFailure(Make(failure), state);

        Assert.Equal(step, decision.Step.ToString());
        Assert.Equal(TimeSpan.FromMilliseconds(waitMs), decision.Wait);
    }

    [Theory]
    [InlineData(-1, true)]
    [InlineData(50, true)]
    [InlineData(49, false)]
    [InlineData(0, false)]
    public void MayStartAttempt_NeedsFiftyMillisecondsOfTheDeadline(int remainingMs, bool expected) =>
        Assert.Equal(expected, ChainPolicy.MayStartAttempt(remainingMs < 0 ? Infinite : TimeSpan.FromMilliseconds(remainingMs)));
}
