namespace Gateway.Core.State;

/// <summary>
/// Admissions a replica borrowed from a busy key in the round trip of one of its requests (docs/design.md, "Borrowed
/// admissions"): each unit is an rpm permit already booked in Redis and, for a key with max_concurrent, a lease
/// already added to its set (named <see cref="Lease"/>). Units are spent here without a call until none is left or
/// the batch expires. Redis lends only while each of the key's limits is less than half used, so near a limit every
/// request is decided in Redis again; the permits come out of the shared bucket, so borrowing never admits more than
/// the limit over a longer window — it moves admissions by at most the batch's lifetime.
/// </summary>
internal sealed class AdmissionBatch
{
    // Units taken so far; once closed, -1 - the units taken before the close (so the count survives the close).
    private int _taken;

    public AdmissionBatch(int count, long granted, long expires, string? leasePrefix, long requestsLeft, long tokensLeft)
    {
        Count = count;
        Granted = granted;
        Expires = expires;
        LeasePrefix = leasePrefix;
        RequestsLeft = requestsLeft;
        TokensLeft = tokensLeft;
    }

    public int Count { get; }

    /// <summary>When the call that borrowed it was sent (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long Granted { get; }

    /// <summary>The unit whose taker asks for the next batch in the background: the middle one.</summary>
    public int RefillAt => (Count + 1) / 2;

    /// <summary>No unit is taken from this timestamp on (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long Expires { get; }

    /// <summary>The lease of the request that borrowed the batch; unit i's lease is this + ":" + i. Null: no max_concurrent.</summary>
    public string? LeasePrefix { get; }

    /// <summary>The key's rpm left in Redis once the whole batch was booked.</summary>
    public long RequestsLeft { get; }

    public long TokensLeft { get; }

    /// <summary>Units taken (before the close, once closed).</summary>
    public int Used
    {
        get
        {
            int taken = Volatile.Read(ref _taken);
            return taken < 0 ? -1 - taken : taken;
        }
    }

    public bool IsClosed => Volatile.Read(ref _taken) < 0;

    /// <summary>No unit will be taken any more: closed, expired or all taken.</summary>
    public bool IsSpent(long now) => IsClosed || now >= Expires || Used >= Count;

    /// <summary>The next unit (1-based), or 0 when the batch is spent, closed or expired.</summary>
    public int TryTake(long now)
    {
        if (now >= Expires)
        {
            return 0;
        }
        while (true)
        {
            int taken = Volatile.Read(ref _taken);
            if (taken < 0 || taken >= Count)
            {
                return 0;
            }
            if (Interlocked.CompareExchange(ref _taken, taken + 1, taken) == taken)
            {
                return taken + 1;
            }
        }
    }

    /// <summary>
    /// Ends the batch: no unit is taken after this. The first close returns how many units were taken (those after
    /// it are never used, and their leases are the caller's to release); a later one returns -1.
    /// </summary>
    public int Close()
    {
        while (true)
        {
            int taken = Volatile.Read(ref _taken);
            if (taken < 0)
            {
                return -1;
            }
            if (Interlocked.CompareExchange(ref _taken, -1 - taken, taken) == taken)
            {
                return taken;
            }
        }
    }

    public string Lease(int unit) => UnitLease(LeasePrefix!, unit);

    /// <summary>The lease of a borrowed unit, named as the admission script names it ("prefix:unit").</summary>
    public static string UnitLease(string prefix, int unit) => prefix + ":" + unit.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// How many units the next borrowing asks for (a pure function): none for a key's first call; twice as many plus
    /// one when the last batch ran out before it expired (the key is busier than it covered); as many as were used
    /// when it expired (its demand over one lifetime), so a quiet key stops borrowing and strands nothing.
    /// </summary>
    public static int NextSize(int? lastCount, int lastUsed, bool lastExpired, int max)
    {
        if (lastCount is not { } count)
        {
            return 0;
        }
        if (!lastExpired && lastUsed >= count)
        {
            return (int)Math.Min(max, 2L * count + 1);
        }
        return Math.Min(max, lastUsed);
    }

    /// <summary>
    /// How many units the refill asks for when half of <paramref name="batch"/> is spent (a pure function): twice as
    /// many plus one if that took less than half its lifetime (it would run out before it expires), else as many.
    /// </summary>
    public static int RefillSize(AdmissionBatch batch, long now, int max)
    {
        long lifetime = batch.Expires - batch.Granted;
        bool fast = (now - batch.Granted) * 2 < lifetime;
        return (int)Math.Min(max, fast ? (2L * batch.Count) + 1 : batch.Count);
    }
}
