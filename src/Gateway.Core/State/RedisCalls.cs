namespace Gateway.Core.State;

/// <summary>
/// Budgets on Redis calls. A call that outlives its budget is not cancelled (the client may still send it, and it
/// may still fail later); its failure is observed here, so it is neither lost silently nor reported as a gateway bug
/// by the unobserved-exception handler.
/// </summary>
internal static class RedisCalls
{
    public static Task<T> Within<T>(this Task<T> call, TimeSpan budget, TimeProvider time)
    {
        Observe(call);
        return call.WaitAsync(budget, time);
    }

    public static Task Within(this Task call, TimeSpan budget, TimeProvider time)
    {
        Observe(call);
        return call.WaitAsync(budget, time);
    }

    /// <summary>Marks a call's failure, whenever it comes, as seen.</summary>
    public static void Observe(Task call)
    {
        if (call.IsCompleted)
        {
            // A client that fails fast (no connection) hands back a task that failed already.
            _ = call.Exception;
            return;
        }
        _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
