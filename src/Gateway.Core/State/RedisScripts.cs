namespace Gateway.Core.State;

/// <summary>
/// The Lua scripts the shared state runs in Redis, each one atomic and reading Redis's own clock (TIME), so replicas'
/// clocks never enter a decision. Numbers are microseconds (GCRA) or milliseconds (lease expiry); values are written
/// with %.0f because Lua's default number format would round a 16-digit timestamp.
/// </summary>
internal static class RedisScripts
{
    /// <summary>
    /// One request's admission for one gateway key, all limits at once and all-or-nothing: the budget (spent in the
    /// period's counter, micro-USD), tpm (GCRA with debt: only whether the key is in debt past one minute of
    /// tokens), rpm (GCRA, burst = the limit: a fresh key may use its whole minute at once, then the steady rate),
    /// max_concurrent (a sorted set of leases scored by expiry; expired ones purged first). The rpm booking and the
    /// lease are written only once every check passed.
    /// Borrowing: up to ARGV[7] more admissions are booked with this one (rpm permits, and leases named
    /// "lease:1".."lease:n"), as many as leave every limit of the key less than half used — none near a limit. A
    /// refill (ARGV[8] 0) books only those: no admission of its own, no lease named "lease".
    /// KEYS: rpm, tpm, leases, spend. ARGV: rpm, tpm, max_concurrent (0: none), lease member, lease ttl ms, budget
    /// micro-USD (-1: none), admissions to borrow, 1 when the call admits a request of its own.
    /// Returns {allowed, failing limit (1 rpm, 2 tpm, 3 concurrency, 4 budget), retry after µs, rpm left, tpm left,
    /// admissions borrowed}.
    /// </summary>
    public const string Admit = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local rpm = tonumber(ARGV[1])
        local tpm = tonumber(ARGV[2])
        local conc = tonumber(ARGV[3])
        local budget = tonumber(ARGV[6])
        local extra = tonumber(ARGV[7])
        local own = tonumber(ARGV[8])
        local minute = 60000000
        if budget >= 0 then
          local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
          if spent >= budget then return {0, 4, 0, 0, 0, 0} end
          if spent * 2 > budget then extra = 0 end
        end
        local tpmLeft = 0
        if tpm > 0 then
          local debt = tonumber(redis.call('GET', KEYS[2]) or '0') - now
          if debt > minute then return {0, 2, debt - minute, 0, 0, 0} end
          if debt * 2 > minute then extra = 0 end
          tpmLeft = math.floor((minute - math.max(debt, 0)) * tpm / minute)
        end
        local rpmLeft = 0
        local tat = 0
        local interval = 0
        if rpm > 0 then
          interval = minute / rpm
          tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now) + own * interval
          if own == 1 and tat - now > minute then return {0, 1, tat - now - minute, 0, 0, 0} end
          extra = math.min(extra, math.floor((minute / 2 - (tat - now)) / interval))
        end
        if conc > 0 then
          local nowMs = math.floor(now / 1000)
          redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', nowMs)
          local held = redis.call('ZCARD', KEYS[3])
          if own == 1 and held >= conc then return {0, 3, 1000000, 0, 0, 0} end
          extra = math.min(extra, math.floor(conc / 2) - held - own)
          local ttl = tonumber(ARGV[5])
          local expiry = string.format('%.0f', nowMs + ttl)
          local members = {}
          if own == 1 then members = {expiry, ARGV[4]} end
          for i = 1, extra do
            members[#members + 1] = expiry
            members[#members + 1] = ARGV[4] .. ':' .. i
          end
          if #members > 0 then
            redis.call('ZADD', KEYS[3], unpack(members))
            redis.call('PEXPIRE', KEYS[3], ttl)
          end
        end
        extra = math.max(extra, 0)
        if rpm > 0 then
          tat = tat + extra * interval
          rpmLeft = math.floor((minute - (tat - now)) / interval)
          if own + extra > 0 then
            redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', math.floor((tat - now) / 1000) + 1000))
          end
        end
        return {1, 0, 0, rpmLeft, tpmLeft, extra}
        """;

    /// <summary>
    /// What a replica owes for one key since its last flush: tokens move the tpm TAT (into debt if need be), spend
    /// adds to the period's counter (kept until a week after the period ends), borrowed rpm permits that expired unused
    /// go back to the bucket (the TAT moves earlier, never before now: the key is left no better off than had they
    /// never been borrowed), finished requests' leases are removed and live ones renewed.
    /// KEYS: tpm, spend, leases, rpm. ARGV: tokens, tpm, micro-USD, spend expires at (unix s), lease ttl ms, permits
    /// to give back, rpm, releases count n, n lease members to remove, then lease members to renew.
    /// </summary>
    public const string Charge = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tokens = tonumber(ARGV[1])
        local tpm = tonumber(ARGV[2])
        if tokens > 0 and tpm > 0 then
          local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now) + tokens * 60000000 / tpm
          redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', math.floor((tat - now) / 1000) + 1000))
        end
        local micro = tonumber(ARGV[3])
        if micro > 0 then
          redis.call('INCRBY', KEYS[2], micro)
          redis.call('EXPIREAT', KEYS[2], ARGV[4])
        end
        local unused = tonumber(ARGV[6])
        local rpm = tonumber(ARGV[7])
        if unused > 0 and rpm > 0 then
          local tat = tonumber(redis.call('GET', KEYS[4]) or '0') - unused * 60000000 / rpm
          if tat > now then
            redis.call('SET', KEYS[4], string.format('%.0f', tat), 'PX', string.format('%.0f', math.floor((tat - now) / 1000) + 1000))
          else
            redis.call('DEL', KEYS[4])
          end
        end
        local releases = tonumber(ARGV[8])
        for i = 9, 8 + releases do redis.call('ZREM', KEYS[3], ARGV[i]) end
        local ttl = tonumber(ARGV[5])
        local expiry = string.format('%.0f', math.floor(now / 1000) + ttl)
        for i = 9 + releases, #ARGV do redis.call('ZADD', KEYS[3], 'XX', expiry, ARGV[i]) end
        if #ARGV > 8 + releases then redis.call('PEXPIRE', KEYS[3], ttl) end
        return 1
        """;

    /// <summary>
    /// A replica's heartbeat: its id scored by Redis time, members silent for 5 s removed; returns how many replicas
    /// are alive (the local share while Redis is unavailable is each limit divided by this).
    /// KEYS: replicas. ARGV: replica id.
    /// </summary>
    public const string Heartbeat = """
        local t = redis.call('TIME')
        local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[1], string.format('%.0f', nowMs), ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', nowMs - 5000))
        redis.call('PEXPIRE', KEYS[1], 60000)
        return redis.call('ZCARD', KEYS[1])
        """;

    /// <summary>
    /// A provider-attributable opening of a provider's circuit, shared: the deadline only ever moves later (a shorter
    /// opening never shortens a longer one), the key expires at it, and the other replicas are told at once.
    /// KEYS: the provider's circuit key. ARGV: cooldown ms, opener, channel, provider name. Returns the ms left.
    /// </summary>
    public const string OpenCircuit = """
        local left = redis.call('PTTL', KEYS[1])
        local want = tonumber(ARGV[1])
        if left < want then
          redis.call('SET', KEYS[1], ARGV[2], 'PX', want)
          left = want
        end
        redis.call('PUBLISH', ARGV[3], 'open|' .. ARGV[4] .. '|' .. left)
        return left
        """;
}
