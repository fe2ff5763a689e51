using Gateway.Core.Config;

namespace Gateway.Server.Middleware;

/// <summary>Why a request was shed (None: admitted).</summary>
internal enum OverloadReason
{
    None,
    Concurrency,
    Memory,
}

/// <summary>
/// The gateway's own load, for server.overload: API requests in flight, and the process's resident memory and the memory
/// it may use, read at most once a second (the reads parse /proc and allocate; memory does not move much faster).
/// </summary>
internal sealed class OverloadGuard
{
    private static readonly TimeSpan s_memoryReadInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_reclaimInterval = TimeSpan.FromSeconds(10);
    private const long NeverRead = long.MinValue;

    private readonly TimeProvider _time;
    private long _inFlight;
    private long _memoryReadAt = NeverRead;
    private long _memoryBytes;
    private long _reclaimedAt = NeverRead;
    private long _availableBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    public OverloadGuard(TimeProvider time) => _time = time;

    /// <summary>API requests admitted and not yet ended (streams until their last byte).</summary>
    public long InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Admits one request (then <see cref="Exit"/> must follow), or says why not (then nothing is counted).</summary>
    public OverloadReason TryEnter(OverloadConfig limits)
    {
        if (MemoryLimit(limits) is > 0 and var limit && MemoryBytes() >= limit && !Reclaim(limit))
        {
            return OverloadReason.Memory;
        }
        long inFlight = Interlocked.Increment(ref _inFlight);
        if (limits.MaxConcurrentRequests > 0 && inFlight > limits.MaxConcurrentRequests)
        {
            Interlocked.Decrement(ref _inFlight);
            return OverloadReason.Concurrency;
        }
        return OverloadReason.None;
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>The configured memory limit in bytes (a percentage is of what the process may use: the container's limit, else the RAM); 0: none.</summary>
    public long MemoryLimit(OverloadConfig limits) =>
        limits.MaxMemoryBytes > 0 ? limits.MaxMemoryBytes
        : limits.MaxMemoryPercent > 0 ? Volatile.Read(ref _availableBytes) / 100 * limits.MaxMemoryPercent
        : 0;

    /// <summary>
    /// Over the limit, asks the GC to give back what it holds (a compacting collection that returns free memory to
    /// the system), at most every 10 s: memory kept from a past peak would otherwise keep the gateway refusing work
    /// it has room for. The request that triggers it is one that would be refused anyway.
    /// </summary>
    /// <returns>True when the process is below the limit afterwards.</returns>
    private bool Reclaim(long limit)
    {
        long now = _time.GetTimestamp();
        long reclaimedAt = Volatile.Read(ref _reclaimedAt);
        if ((reclaimedAt != NeverRead && _time.GetElapsedTime(reclaimedAt, now) < s_reclaimInterval)
            || Interlocked.CompareExchange(ref _reclaimedAt, now, reclaimedAt) != reclaimedAt)
        {
            return false;
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        long resident = Environment.WorkingSet;
        Volatile.Write(ref _memoryBytes, resident);
        return resident < limit;
    }

    /// <summary>The process's resident memory as of the last read (at most a second old).</summary>
    public long MemoryBytes()
    {
        long now = _time.GetTimestamp();
        long readAt = Volatile.Read(ref _memoryReadAt);
        if ((readAt == NeverRead || _time.GetElapsedTime(readAt, now) >= s_memoryReadInterval)
            && Interlocked.CompareExchange(ref _memoryReadAt, now, readAt) == readAt)
        {
            Volatile.Write(ref _memoryBytes, Environment.WorkingSet);
            // A container's limit can be changed in place; the GC reads it anew.
            Volatile.Write(ref _availableBytes, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        }
        return Volatile.Read(ref _memoryBytes);
    }
}
