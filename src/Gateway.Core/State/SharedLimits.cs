using System.Collections.Concurrent;
using Gateway.Core.Access;
using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using StackExchange.Redis;

namespace Gateway.Core.State;

/// <summary>Which limit refused a request.</summary>
internal enum SharedLimit
{
    None,
    Requests,
    Tokens,
    Concurrency,
    Budget,
}

/// <summary>
/// One request's admission: decided in Redis (<see cref="Local"/> false), or to be decided by this replica's share of
/// the limits because Redis is not in use (<see cref="Local"/> true, <see cref="Replicas"/> the divisor).
/// </summary>
internal readonly record struct Admission(
    bool Allowed, SharedLimit Refused, TimeSpan RetryAfter, long RequestsLeft, long TokensLeft, bool Local, int Replicas, string? Lease, KeyEntry? Entry)
{
    public static Admission Degraded(int replicas) => new(false, SharedLimit.None, TimeSpan.Zero, 0, 0, true, replicas, null, null);
}

/// <summary>
/// Per-key limits shared by every replica through Redis (docs/design.md, "Running N replicas"): one script call per
/// admitted request books every limit of its key at once; a key refused recently is refused again from a local
/// negative cache until its retry time, with no call; what is only known after the answer (tokens, spend, the end
/// of a request holding a concurrency lease) is added up here and flushed every <c>flush_interval</c> by
/// <see cref="SharedState"/>. When Redis is slow or gone the caller gets <see cref="Admission.Degraded"/> and
/// enforces its share (each limit ÷ replicas seen) locally.
/// </summary>
internal sealed class SharedLimits
{
    private const long MicroUsdPerUsd = 1_000_000;

    private readonly SharedState _state;
    private readonly ConcurrentDictionary<string, KeyEntry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyEntry> _live = new(StringComparer.Ordinal);
    private long _leases;

    public SharedLimits(SharedState state) => _state = state;

    /// <summary>Whether a key has anything to share.</summary>
    public static bool Limits(ClientKeyConfig config) => config.Rpm is not null || config.Tpm is not null || config.MaxConcurrent is not null || config.Budget is not null;

    public async ValueTask<Admission> AdmitAsync(ClientKey key, string requestId, CancellationToken cancellationToken)
    {
        var entry = Entry(key);
        var time = _state.Time;
        long now = time.GetTimestamp();
        if (entry.Borrowed.TryTake(now, out var batch) is var unit and > 0)
        {
            // Booked in Redis already, by the request that borrowed the batch.
            GatewayMetrics.StateBorrowed.Add(1);
            if (entry.Borrowed.StartRefill(batch!, unit, now, _state.BorrowMax, out int refill))
            {
                _ = RefillAsync(entry, key.Config, refill, now);
            }
            string? borrowedLease = batch!.LeasePrefix is null ? null : batch.Lease(unit);
            if (borrowedLease is not null)
            {
                _live[borrowedLease] = entry;
            }
            return new Admission(true, SharedLimit.None, TimeSpan.Zero, batch.RequestsLeft + batch.Count - unit, batch.TokensLeft, false, 0, borrowedLease, entry);
        }
        if (entry.BlockedUntil > now)
        {
            // Refused a moment ago: refused again without asking Redis, until the time it gave.
            return new Admission(false, entry.BlockedBy, time.GetElapsedTime(now, entry.BlockedUntil), 0, 0, false, 0, null, entry);
        }
        if (_state.Database is not { } database || !_state.Health.IsUp)
        {
            return Admission.Degraded(_state.ReplicasSeen);
        }
        var config = key.Config;
        string? lease = config.MaxConcurrent is null ? null : LeaseName(requestId);
        bool borrowing = entry.Borrowed.StartBorrowing(now, _state.BorrowMax, out int size);
        AdmissionBatch? granted = null;
        try
        {
            Task<RedisResult> call;
            try
            {
                call = SendAdmit(database, entry, config, lease, size, forThisRequest: true);
            }
            catch (RedisException)
            {
                _state.Health.Failed();
                return Admission.Degraded(_state.ReplicasSeen);
            }
            if (!call.IsCompleted)
            {
                try
                {
                    // The budget's timer is disposed as soon as Redis answers (a Task.Delay would fire for every request).
                    await call.WaitAsync(_state.Timeout, time, cancellationToken);
                }
                catch (TimeoutException)
                {
                    // Decided below, locally; after a few of these the health breaker stops asking Redis at all.
                }
                catch (RedisException)
                {
                }
                catch (OperationCanceledException)
                {
                    // The client left: nothing to decide, but the call may still book.
                    RedisCalls.Observe(call);
                    ReleaseLate(entry, lease, size, forThisRequest: true);
                    throw;
                }
            }
            if (!call.IsCompletedSuccessfully)
            {
                // Too slow or unreachable: this request is decided locally. A booking that still lands later errs on the safe side.
                RedisCalls.Observe(call);
                ReleaseLate(entry, lease, size, forThisRequest: true);
                _state.Health.Failed();
                return Admission.Degraded(_state.ReplicasSeen);
            }
            _state.Health.Succeeded();
            var values = (RedisResult[])call.Result!;
            var refused = (SharedLimit)(int)values[1];
            var retryAfter = TimeSpan.FromMicroseconds((long)values[2]);
            if ((int)values[0] == 0)
            {
                if (refused == SharedLimit.Budget)
                {
                    // Spend only grows within a period; a few seconds let a reload that raises the budget take effect.
                    retryAfter = TimeSpan.FromSeconds(5);
                }
                if (refused != SharedLimit.Concurrency)
                {
                    entry.Block(refused, now + (long)(retryAfter.TotalSeconds * time.TimestampFrequency));
                }
                return new Admission(false, refused, retryAfter, 0, 0, false, 0, null, entry);
            }
            long requestsLeft = (long)values[3];
            long tokensLeft = (long)values[4];
            int lent = (int)values[5];
            if (borrowing)
            {
                granted = new AdmissionBatch(lent, now, now + _state.BatchLifetime, lease, requestsLeft, tokensLeft);
            }
            if (lease is not null)
            {
                _live[lease] = entry;
            }
            return new Admission(true, SharedLimit.None, TimeSpan.Zero, requestsLeft + lent, tokensLeft, false, 0, lease, entry);
        }
        finally
        {
            if (borrowing)
            {
                // Whatever happened, the key's next request may borrow again (with no batch: none was granted).
                entry.Borrowed.FinishBorrowing(granted);
            }
        }
    }

    /// <summary>
    /// Half a busy key's batch is spent: the next one is borrowed in the background, booking no request of its own, so
    /// the key's requests go on finding units instead of each asking Redis once the batch runs out. Never throws.
    /// </summary>
    private async Task RefillAsync(KeyEntry entry, ClientKeyConfig config, int size, long now)
    {
        AdmissionBatch? granted = null;
        string? prefix = config.MaxConcurrent is null ? null : LeaseName("refill");
        try
        {
            if (_state.Database is not { } database || !_state.Health.IsUp)
            {
                return;
            }
            var call = SendAdmit(database, entry, config, prefix, size, forThisRequest: false);
            try
            {
                await call.Within(_state.Timeout, _state.Time);
            }
            catch (Exception e) when (e is TimeoutException or RedisException)
            {
                ReleaseLate(entry, prefix, size, forThisRequest: false);
                _state.Health.Failed();
                return;
            }
            _state.Health.Succeeded();
            var values = (RedisResult[])call.Result!;
            if ((int)values[0] == 1)
            {
                granted = new AdmissionBatch((int)values[5], now, now + _state.BatchLifetime, prefix, (long)values[3], (long)values[4]);
            }
        }
        catch (RedisException)
        {
            _state.Health.Failed();
        }
        finally
        {
            entry.Borrowed.FinishRefill(granted, _state.Time.GetTimestamp());
        }
    }

    /// <summary>The admission script for a key: this request's admission (unless a refill) and up to <paramref name="borrow"/> more.</summary>
    private Task<RedisResult> SendAdmit(IDatabase database, KeyEntry entry, ClientKeyConfig config, string? lease, int borrow, bool forThisRequest)
    {
        long budget = config.Budget is { } b ? (long)(b.Usd * MicroUsdPerUsd) : -1;
        return database.ScriptEvaluateAsync(RedisScripts.Admit, entry.AdmitKeys(config.Budget, _state.Time.GetUtcNow(), _state.KeyPrefix),
            [config.Rpm ?? 0, config.Tpm ?? 0, config.MaxConcurrent ?? 0, lease ?? "", (long)_state.LeaseTtl.TotalMilliseconds, budget, borrow, forThisRequest ? 1 : 0]);
    }

    private string LeaseName(string requestId) =>
        _state.ReplicaId + ":" + requestId + ":" + Interlocked.Increment(ref _leases).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A call whose answer this request will not use may still land and book: its lease (and the borrowed ones it
    /// asked for) are removed with the next flush rather than holding slots for a lease TTL.
    /// </summary>
    private static void ReleaseLate(KeyEntry entry, string? lease, int size, bool forThisRequest)
    {
        if (lease is null)
        {
            return;
        }
        if (forThisRequest)
        {
            entry.AddRelease(lease);
        }
        for (int unit = 1; unit <= size; unit++)
        {
            entry.AddRelease(AdmissionBatch.UnitLease(lease, unit));
        }
    }

    /// <summary>The request ended: its lease is removed at the next flush (and expires by itself if this replica dies first).</summary>
    public void Release(in Admission admission)
    {
        if (admission.Lease is { } lease && _live.TryRemove(lease, out var entry))
        {
            entry.AddRelease(lease);
        }
    }

    /// <summary>An answer's tokens, for a key with a tpm limit: charged to the shared budget at the next flush.</summary>
    public void ChargeTokens(ClientKey key, long tokens)
    {
        if (key.Config.Tpm is not null && tokens > 0)
        {
            Entry(key).AddTokens(tokens);
        }
    }

    /// <summary>An answer's cost, for a key with a budget: added to the period's shared spend at the next flush.</summary>
    public void ChargeSpend(string keyName, decimal usd)
    {
        if (usd > 0 && _entries.TryGetValue(keyName, out var entry) && entry.Config.Budget is not null)
        {
            entry.AddSpend(usd * MicroUsdPerUsd);
        }
    }

    /// <summary>A key's spend in its budget's current period as Redis has it (plus what is not flushed yet); null when Redis cannot say now.</summary>
    public async Task<decimal?> SpentAsync(ClientKey key, BudgetConfig budget)
    {
        var entry = Entry(key);
        if (_state.Database is not { } database || !_state.Health.IsUp)
        {
            return null;
        }
        try
        {
            var value = await database.StringGetAsync(entry.SpendKey(budget, _state.Time.GetUtcNow(), _state.KeyPrefix))
                .Within(SharedState.BackgroundTimeout, _state.Time);
            return ((value.IsNull ? 0 : (long)value) + entry.PendingMicroUsd) / (decimal)MicroUsdPerUsd;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>Every key with something to flush, and every live lease to renew: called by the flusher.</summary>
    internal IEnumerable<KeyEntry> Entries => _entries.Values;

    internal IEnumerable<KeyValuePair<string, KeyEntry>> LiveLeases => _live;

    private KeyEntry Entry(ClientKey key)
    {
        while (true)
        {
            if (!_entries.TryGetValue(key.Name, out var entry))
            {
                // Added once: a key's first requests arrive together, and an entry that lost the race would keep what
                // they owe (ended leases, tokens, spend) where the flusher never looks.
                var created = new KeyEntry(key, _state.KeyPrefix);
                if (_entries.TryAdd(key.Name, created))
                {
                    return created;
                }
                continue;
            }
            if (!entry.SameKey(key))
            {
                // The name now holds another key (a reload changed its value): its state starts afresh.
                _entries.TryUpdate(key.Name, new KeyEntry(key, _state.KeyPrefix), entry);
                continue;
            }
            if (!ReferenceEquals(entry.Config, key.Config))
            {
                entry.Config = key.Config;
                entry.Borrowed.Drop();
            }
            return entry;
        }
    }
}
