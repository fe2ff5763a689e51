using Gateway.Core.Access;
using Gateway.Core.Config;
using Gateway.Core.Spend;
using StackExchange.Redis;

namespace Gateway.Core.State;

/// <summary>
/// One gateway key's shared state as this replica sees it: its Redis keys (built once; the key is named by a
/// truncated SHA-256 of its value, never the value or its name), its negative cache, and what it owes Redis since
/// the last flush. All its Redis keys share one hash tag, so one script may touch them all on a Redis Cluster.
/// </summary>
internal sealed class KeyEntry
{
    // Releases waiting for a flush while Redis is away: past this they are dropped (the leases expire by themselves).
    private const int MaxPendingReleases = 10_000;

    private readonly byte[] _hash;
    private readonly string _tag;
    private readonly Lock _lock = new();
    private long _tokens;
    private long _unusedPermits;
    private decimal _microUsd;
    private List<RedisValue> _releases = [];
    private RedisKey[]? _admitKeys;
    private BudgetPeriod? _period;
    private DateTimeOffset _periodEnd;
    private RedisKey _spendKey;

    public KeyEntry(ClientKey key, string prefix)
    {
        _hash = key.Hash ?? [];
        Id = System.Buffers.Text.Base64Url.EncodeToString(_hash.AsSpan(0, Math.Min(12, _hash.Length)));
        _tag = prefix + "v1:{k:" + Id + "}:";
        Rpm = _tag + "rpm";
        Tpm = _tag + "tpm";
        Leases = _tag + "conc";
        Config = key.Config;
        Borrowed = new BorrowedAdmissions(ReturnUnused);
    }

    /// <summary>The admissions this replica borrowed for the key.</summary>
    public BorrowedAdmissions Borrowed { get; }

    /// <summary>The key's id in Redis: base64url of the first 12 bytes of the SHA-256 of its value.</summary>
    public string Id { get; }

    public RedisKey Rpm { get; }

    public RedisKey Tpm { get; }

    public RedisKey Leases { get; }

    /// <summary>The key's limits as of its latest request (a reload may change them).</summary>
    public ClientKeyConfig Config { get; set; }

    /// <summary>Refused until this timestamp (<see cref="TimeProvider.GetTimestamp"/>), by <see cref="BlockedBy"/>.</summary>
    public long BlockedUntil { get; private set; }

    public SharedLimit BlockedBy { get; private set; }

    public long PendingMicroUsd
    {
        get
        {
            lock (_lock)
            {
                return (long)_microUsd;
            }
        }
    }

    public bool SameKey(ClientKey key) => key.Hash is { } hash && hash.AsSpan().SequenceEqual(_hash);

    /// <summary>A closed batch's units that were never taken: their permits go back to the bucket, their leases are removed.</summary>
    private void ReturnUnused(AdmissionBatch batch)
    {
        int used = batch.Used;
        if (Config.Rpm is not null)
        {
            lock (_lock)
            {
                _unusedPermits += batch.Count - used;
            }
        }
        if (batch.LeasePrefix is not null)
        {
            for (int unit = used + 1; unit <= batch.Count; unit++)
            {
                AddRelease(batch.Lease(unit));
            }
        }
    }

    public void Block(SharedLimit limit, long until)
    {
        BlockedBy = limit;
        BlockedUntil = until;
    }

    /// <summary>The admission script's keys: rpm, tpm, leases, and the current period's spend counter (rebuilt when the period rolls).</summary>
    public RedisKey[] AdmitKeys(BudgetConfig? budget, DateTimeOffset now, string prefix)
    {
        var keys = _admitKeys;
        if (keys is not null && budget?.Period == _period && (budget is null || now < _periodEnd))
        {
            return keys;
        }
        keys = [Rpm, Tpm, Leases, budget is null ? Rpm : SpendKey(budget, now, prefix)];
        _admitKeys = keys;
        return keys;
    }

    /// <summary>The spend counter of the budget period that contains <paramref name="now"/>.</summary>
    public RedisKey SpendKey(BudgetConfig budget, DateTimeOffset now, string prefix)
    {
        lock (_lock)
        {
            if (budget.Period != _period || now >= _periodEnd)
            {
                var (start, end) = BudgetWindow.Of(budget.Period, now);
                _period = budget.Period;
                _periodEnd = end;
                _spendKey = _tag + "spend:" + BudgetWindow.Name(budget.Period) + ":" + start.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return _spendKey;
        }
    }

    /// <summary>When the current period's counter may go: a week after the period ends (unix seconds).</summary>
    public long SpendExpiry
    {
        get
        {
            lock (_lock)
            {
                return _periodEnd.AddDays(7).ToUnixTimeSeconds();
            }
        }
    }

    public void AddTokens(long tokens)
    {
        lock (_lock)
        {
            _tokens += tokens;
        }
    }

    public void AddSpend(decimal microUsd)
    {
        lock (_lock)
        {
            _microUsd += microUsd;
        }
    }

    public void AddRelease(string lease)
    {
        lock (_lock)
        {
            if (_releases.Count < MaxPendingReleases)
            {
                _releases.Add(lease);
            }
        }
    }

    /// <summary>Takes what is owed (whole micro-dollars; the fraction stays for the next flush).</summary>
    public Owed Take()
    {
        lock (_lock)
        {
            var taken = new Owed(_tokens, (long)decimal.Floor(_microUsd), _unusedPermits, _releases);
            _tokens = 0;
            _microUsd -= taken.MicroUsd;
            _unusedPermits = 0;
            if (_releases.Count > 0)
            {
                _releases = [];
            }
            return taken;
        }
    }

    /// <summary>A flush that failed gives back what it took, to be sent when Redis answers again.</summary>
    public void GiveBack(Owed owed)
    {
        lock (_lock)
        {
            _tokens += owed.Tokens;
            _microUsd += owed.MicroUsd;
            _unusedPermits += owed.UnusedPermits;
            if (_releases.Count + owed.Releases.Count <= MaxPendingReleases)
            {
                _releases.AddRange(owed.Releases);
            }
        }
    }

    /// <summary>What a key owes Redis: tokens, spend, borrowed rpm permits to give back, leases to remove.</summary>
    public readonly record struct Owed(long Tokens, long MicroUsd, long UnusedPermits, List<RedisValue> Releases)
    {
        public bool IsEmpty => Tokens == 0 && MicroUsd == 0 && UnusedPermits == 0 && Releases.Count == 0;
    }
}
