namespace Gateway.Core.Resilience;

/// <summary>Spacing between retries on the same provider: exponential, capped, with jitter so clients do not synchronise.</summary>
internal static class Backoff
{
    public static readonly TimeSpan Base = TimeSpan.FromMilliseconds(200);

    /// <summary>A delay in [d/2, d] with d = min(Base × 2^(retry−1), cap); never below Base/2, so never a tight loop.</summary>
    /// <param name="retry">1 for the first retry.</param>
    public static TimeSpan Delay(int retry, TimeSpan cap)
    {
        var ceiling = Math.Min(Base.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 16)), Math.Max(cap.TotalMilliseconds, Base.TotalMilliseconds));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + Random.Shared.NextDouble() * 0.5));
    }
}
