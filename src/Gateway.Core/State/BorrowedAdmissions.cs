namespace Gateway.Core.State;

/// <summary>
/// The admissions one key's replica borrowed (docs/design.md, "Borrowed admissions"): the batch being spent, the
/// refill that follows it, and which request is borrowing (one per key at a time). A refill is asked for in the
/// background when half a batch is spent, so a busy key's requests keep finding units; a request that finds none
/// borrows on its own round trip. Whoever first closes a batch (spent or expired and replaced, expired at a flush,
/// dropped by a reload) hands its unused units to the key's owed work.
/// </summary>
internal sealed class BorrowedAdmissions
{
    private readonly Action<AdmissionBatch> _giveBack;
    private AdmissionBatch? _current;
    private AdmissionBatch? _next;
    private int _borrowing;

    public BorrowedAdmissions(Action<AdmissionBatch> giveBack) => _giveBack = giveBack;

    /// <summary>A unit (1-based) of the current batch, moving on to the refill once it is spent; 0 when none is left.</summary>
    public int TryTake(long now, out AdmissionBatch? batch)
    {
        while (true)
        {
            batch = Volatile.Read(ref _current);
            if (batch?.TryTake(now) is int unit and > 0)
            {
                return unit;
            }
            var next = Volatile.Read(ref _next);
            if (next is null || now >= next.Expires)
            {
                return 0;
            }
            if (Interlocked.CompareExchange(ref _next, null, next) == next)
            {
                Close(Interlocked.Exchange(ref _current, next));
            }
        }
    }

    /// <summary>
    /// A request found no unit: whether it borrows the next batch on its own round trip (false when another request
    /// or a refill is borrowing) and how many units it asks for (<see cref="AdmissionBatch.NextSize"/>).
    /// </summary>
    public bool StartBorrowing(long now, int max, out int size)
    {
        size = 0;
        if (max <= 0 || Interlocked.CompareExchange(ref _borrowing, 1, 0) != 0)
        {
            return false;
        }
        var last = Volatile.Read(ref _current);
        if (last is not null && !last.IsSpent(now))
        {
            // A batch was installed after this request looked: it is not spent.
            Volatile.Write(ref _borrowing, 0);
            return false;
        }
        Close(last);
        size = AdmissionBatch.NextSize(last?.Count, last?.Used ?? 0, last is not null && now >= last.Expires, max);
        return true;
    }

    /// <summary>The borrowing request's batch (of no unit, it still times the key's demand), or null when it got none.</summary>
    public void FinishBorrowing(AdmissionBatch? batch)
    {
        if (batch is not null)
        {
            Close(Interlocked.Exchange(ref _current, batch));
        }
        Volatile.Write(ref _borrowing, 0);
    }

    /// <summary>
    /// Whether the request that took <paramref name="unit"/> of <paramref name="batch"/> starts the refill: the one
    /// taking the batch's middle unit, unless someone is borrowing already.
    /// </summary>
    public bool StartRefill(AdmissionBatch batch, int unit, long now, int max, out int size)
    {
        size = 0;
        if (unit != batch.RefillAt || Interlocked.CompareExchange(ref _borrowing, 1, 0) != 0)
        {
            return false;
        }
        size = AdmissionBatch.RefillSize(batch, now, max);
        if (size == 0)
        {
            Volatile.Write(ref _borrowing, 0);
            return false;
        }
        return true;
    }

    /// <summary>The refill's batch, spent after the current one (at once if that one is spent already); null: none came.</summary>
    public void FinishRefill(AdmissionBatch? batch, long now)
    {
        if (batch is not null)
        {
            var current = Volatile.Read(ref _current);
            if (current is null || current.IsSpent(now))
            {
                Close(Interlocked.Exchange(ref _current, batch));
            }
            else
            {
                Close(Interlocked.Exchange(ref _next, batch));
            }
        }
        Volatile.Write(ref _borrowing, 0);
    }

    /// <summary>Closes what expired, so its unused units go back with the next flush rather than with their TTL.</summary>
    public void CloseExpired(long now)
    {
        if (Volatile.Read(ref _current) is { } current && now >= current.Expires)
        {
            Close(current);
        }
        if (Volatile.Read(ref _next) is { } next && now >= next.Expires)
        {
            Close(next);
        }
    }

    /// <summary>The key's limits changed: what was borrowed under the old ones is not spent under the new ones.</summary>
    public void Drop()
    {
        Close(Volatile.Read(ref _current));
        Close(Volatile.Read(ref _next));
    }

    private void Close(AdmissionBatch? batch)
    {
        if (batch is not null && batch.Close() is var used and >= 0 && used < batch.Count)
        {
            _giveBack(batch);
        }
    }
}
