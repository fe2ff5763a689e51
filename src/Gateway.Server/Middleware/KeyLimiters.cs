using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Gateway.Core.Access;
using Gateway.Core.Config;

namespace Gateway.Server.Middleware;

/// <summary>
/// The limiters of every gateway key, by key name, outside the config snapshot: a reload that keeps a key with the
/// same limits keeps its counters; changed limits start fresh. A replaced or removed key's limiter is retired (its
/// replenishment timer stopped) once the last request using it has ended.
/// </summary>
internal sealed class KeyLimiters
{
    private readonly ConcurrentDictionary<string, KeyLimiter> _byName = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public KeyLimiters(TimeProvider time) => _time = time;

    /// <summary>Keys whose limiters are held now (a reload drops those of removed or changed keys).</summary>
    public int Count => _byName.Count;

    /// <summary>
    /// The key's limiter, entered for one request (call <see cref="KeyLimiter.Exit"/> when it ends); null when the
    /// key has no limits.
    /// </summary>
    public KeyLimiter? Enter(ClientKey key) => Enter(key.Name, key.Config);

    /// <summary>As <see cref="Enter(ClientKey)"/> with given limits (a replica's share of the key's, see SharedRateLimit).</summary>
    public KeyLimiter? Enter(string name, ClientKeyConfig config)
    {
        if (config.Rpm is null && config.Tpm is null && config.MaxConcurrent is null)
        {
            return null;
        }
        while (true)
        {
            var limiter = _byName.GetOrAdd(name, static (_, state) => new KeyLimiter(state.config, state.time), (config, time: _time));
            if (!limiter.Matches(config))
            {
                // Limits changed by a reload (or the share by the replica count): this request has the new ones.
                if (_byName.TryUpdate(name, new KeyLimiter(config, _time), limiter))
                {
                    limiter.Retire();
                }
                continue;
            }
            if (limiter.TryEnter())
            {
                return limiter;
            }
        }
    }

    /// <summary>The key's current limiter without creating one (charging tokens after an answer).</summary>
    public KeyLimiter? Existing(ClientKey key) =>
        _byName.TryGetValue(key.Name, out var limiter) && limiter.Matches(key.Config) ? limiter : null;

    /// <summary>The limiter held under a name, whatever its limits (a replica's share).</summary>
    public KeyLimiter? Existing(string name) => _byName.TryGetValue(name, out var limiter) ? limiter : null;

    /// <summary>After a reload: limiters of keys that are gone or whose limits changed are dropped and retired.</summary>
    public void Retain(AuthConfig? auth)
    {
        foreach (var (name, limiter) in _byName)
        {
            ClientKeyConfig? kept = null;
            foreach (var key in auth?.Keys ?? [])
            {
                if (key.Name == name)
                {
                    kept = key;
                }
            }
            if ((kept is null || !limiter.Matches(kept)) && _byName.TryRemove(new KeyValuePair<string, KeyLimiter>(name, limiter)))
            {
                limiter.Retire();
            }
        }
    }
}

/// <summary>rpm (sliding window), max_concurrent (concurrency limiter) and tpm (tokens charged after each answer) for one key.</summary>
internal sealed class KeyLimiter
{
    private readonly ClientKeyConfig _config;

    public KeyLimiter(ClientKeyConfig config, TimeProvider time)
    {
        _config = config;
        if (config.Rpm is { } rpm)
        {
            Requests = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = rpm,
                Window = TimeSpan.FromMinutes(1),
                SegmentsPerWindow = 6,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        }
        if (config.MaxConcurrent is { } concurrent)
        {
            Concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = concurrent, QueueLimit = 0 });
        }
        if (config.Tpm is { } tpm)
        {
            Tokens = new TokenBudget(tpm, time);
        }
    }

    public RateLimiter? Requests { get; }

    public RateLimiter? Concurrency { get; }

    public TokenBudget? Tokens { get; }

    public int? RequestLimit => _config.Rpm;

    public bool Matches(ClientKeyConfig config) => config.Rpm == _config.Rpm && config.Tpm == _config.Tpm && config.MaxConcurrent == _config.MaxConcurrent;

    // One use for the registry that holds it, one per request in flight: the last one out disposes the limiters.
    private int _uses = 1;

    /// <summary>True once the limiters are disposed (the limiter was retired and its last request ended).</summary>
    public bool IsDisposed => Volatile.Read(ref _uses) == 0;

    /// <summary>One more request uses this limiter; false when it was retired and disposed already.</summary>
    public bool TryEnter()
    {
        int uses = Volatile.Read(ref _uses);
        while (uses > 0)
        {
            int seen = Interlocked.CompareExchange(ref _uses, uses + 1, uses);
            if (seen == uses)
            {
                return true;
            }
            uses = seen;
        }
        return false;
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _uses) == 0)
        {
            Requests?.Dispose();
            Concurrency?.Dispose();
        }
    }

    /// <summary>The registry let go of it (replaced or removed): disposed when its last request ends.</summary>
    public void Retire() => Exit();
}

/// <summary>Tokens per minute: a fixed one-minute window charged with each answer's usage once it is known.</summary>
internal sealed class TokenBudget
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _windowStart;
    private long _used;

    public TokenBudget(long limit, TimeProvider time)
    {
        Limit = limit;
        _time = time;
        _windowStart = time.GetTimestamp();
    }

    public long Limit { get; }

    /// <summary>False when this minute's tokens are spent; then <paramref name="retryAfter"/> is the rest of the minute.</summary>
    public bool HasRoom(out long remaining, out TimeSpan retryAfter)
    {
        lock (_lock)
        {
            Roll();
            remaining = Math.Max(0, Limit - _used);
            retryAfter = TimeSpan.FromMinutes(1) - _time.GetElapsedTime(_windowStart);
            return _used < Limit;
        }
    }

    public void Charge(long tokens)
    {
        lock (_lock)
        {
            Roll();
            _used += tokens;
        }
    }

    private void Roll()
    {
        if (_time.GetElapsedTime(_windowStart) >= TimeSpan.FromMinutes(1))
        {
            _windowStart = _time.GetTimestamp();
            _used = 0;
        }
    }
}
