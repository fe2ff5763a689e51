using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Gateway.Core.Access;
using Gateway.Core.Config;

namespace Gateway.Server.Middleware;

/// <summary>
/// The limiters of every gateway key, by key name, outside the config snapshot: a reload that keeps a key with the
/// same limits keeps its counters; changed limits start fresh.
/// </summary>
internal sealed class KeyLimiters
{
    private readonly ConcurrentDictionary<string, KeyLimiter> _byName = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public KeyLimiters(TimeProvider time) => _time = time;

    /// <summary>Null when the key has no limits.</summary>
    public KeyLimiter? For(ClientKey key)
    {
        var config = key.Config;
        if (config.Rpm is null && config.Tpm is null && config.MaxConcurrent is null)
        {
            return null;
        }
        var limiter = _byName.GetOrAdd(key.Name, static (_, state) => new KeyLimiter(state.config, state.time), (config, time: _time));
        if (limiter.Matches(config))
        {
            return limiter;
        }
        var fresh = new KeyLimiter(config, _time);
        _byName[key.Name] = fresh;
        return fresh;
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
