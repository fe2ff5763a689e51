using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Gateway.Core.State;

/// <summary>
/// The state replicas share through Redis (the <c>state</c> section): one connection per process, the health breaker
/// that keeps Redis off the request path when it is slow or gone, the heartbeat that counts live replicas, and the
/// flusher that sends what answers owe (tokens, spend, ended leases) every <c>flush_interval</c>. Starts without
/// waiting for Redis (degraded until it answers) and never makes a request wait longer than <c>timeout</c> on it.
/// </summary>
internal sealed class SharedState : IAsyncDisposable
{
    /// <summary>The budget of the calls no request waits for (heartbeat, flush, reads for /admin/spend).</summary>
    public static readonly TimeSpan BackgroundTimeout = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan s_heartbeat = TimeSpan.FromSeconds(1);

    private readonly StateConfig _config;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly RedisKey _replicas;
    private ConnectionMultiplexer? _redis;
    private Task _loops = Task.CompletedTask;
    private long _lastRenewal;
    private bool _translationShared;
    private int _replicasSeen = 1;

    private SharedState(StateConfig config, TimeProvider time, ILogger logger)
    {
        _config = config;
        _logger = logger;
        Time = time;
        Health = new BackendHealth();
        ReplicaId = Environment.MachineName + "-" + Environment.ProcessId + "-" + Random.Shared.Next(1 << 20).ToString("x5", System.Globalization.CultureInfo.InvariantCulture);
        _replicas = config.KeyPrefix + "v1:replicas";
        var lifetime = config.LeaseTtl / 3 < TimeSpan.FromSeconds(1) ? config.LeaseTtl / 3 : TimeSpan.FromSeconds(1);
        BatchLifetime = (long)(lifetime.TotalSeconds * time.TimestampFrequency);
        Limits = new SharedLimits(this);
        Health.Changed += up =>
        {
            if (up)
            {
                GatewayLog.SharedStateUp(_logger);
            }
            else
            {
                GatewayLog.SharedStateDown(_logger, ReplicasSeen);
            }
        };
    }

    public static SharedState Start(StateConfig config, TimeProvider time, ILogger logger)
    {
        var state = new SharedState(config, time, logger);
        state._loops = Task.WhenAll(Task.Run(state.ConnectAndHeartbeatAsync), Task.Run(state.FlushLoopAsync));
        return state;
    }

    public TimeProvider Time { get; }

    public BackendHealth Health { get; }

    public SharedLimits Limits { get; }

    /// <summary>This process among the replicas (host name, PID and a random part): lease owners and heartbeats.</summary>
    public string ReplicaId { get; }

    public string KeyPrefix => _config.KeyPrefix;

    public TimeSpan Timeout => _config.Timeout;

    public TimeSpan LeaseTtl => _config.LeaseTtl;

    /// <summary>The most admissions one round trip borrows for a busy key (state.borrow_max).</summary>
    public int BorrowMax => _config.BorrowMax;

    /// <summary>
    /// How long borrowed admissions may be spent (timestamp ticks): a second, the bound's slack, or a third of the lease
    /// TTL if shorter, so a borrowed lease taken late is renewed before it expires in Redis.
    /// </summary>
    public long BatchLifetime { get; }

    /// <summary>Limits are shared now: connected, and the health breaker closed.</summary>
    public bool IsShared => _redis is { IsConnected: true } && Health.IsUp;

    /// <summary>Live replicas as the last heartbeat counted them (1 until one has): the divisor of the local share.</summary>
    public int ReplicasSeen => Volatile.Read(ref _replicasSeen);

    /// <summary>The connection; null until the first connection attempt returned.</summary>
    public ConnectionMultiplexer? Multiplexer => _redis;

    internal ILogger Logger => _logger;

    /// <summary>Providers' circuits shared with the other replicas (set once, before traffic, by the host).</summary>
    public SharedBreakers? Breakers { get; private set; }

    /// <summary>Shares the circuits of <paramref name="registry"/>'s providers and starts their loop.</summary>
    public void ShareCircuits(Resilience.ProviderHealthRegistry registry)
    {
        Breakers = new SharedBreakers(this, registry);
        registry.Shared = Breakers;
        _loops = Task.WhenAll(_loops, Task.Run(() => Breakers.RunAsync(_stop.Token)));
    }

    /// <summary>The connection's database; null until the first connection attempt returned (requests are decided locally until then).</summary>
    public IDatabase? Database { get; private set; }

    private async Task ConnectAndHeartbeatAsync()
    {
        try
        {
            _redis = await ConnectionMultiplexer.ConnectAsync(Options(_config));
            // Scripts loaded ahead, so no request's admission pays the first SCRIPT LOAD (Redis forgets them when it restarts).
            // And the heartbeat at once: its answer closes the health breaker without waiting for its next second.
            _redis.ConnectionRestored += (_, _) => _ = RestoredAsync();
            await LoadScriptsAsync();
            Database = _redis.GetDatabase();
            while (!_stop.IsCancellationRequested)
            {
                await HeartbeatAsync();
                if (!_translationShared && IsShared)
                {
                    await ShareTranslationStateAsync(_redis);
                }
                await Task.Delay(s_heartbeat, Time, _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Provider state kept between a conversation's turns (Anthropic's signed thinking, Gemini's thought signatures)
    /// goes to every replica by pub/sub, so the next turn may land on any of them. Published, not stored: Redis holds
    /// no model output, and each replica keeps what it received under translation.state_cache_entries and _ttl; a
    /// replica that was not there when an entry was published misses it (the translation degrades as documented).
    /// </summary>
    private async Task ShareTranslationStateAsync(ConnectionMultiplexer redis)
    {
        var channel = RedisChannel.Literal(_config.KeyPrefix + "v1:translation-state");
        var subscriber = redis.GetSubscriber();
        var self = ReplicaId + "\n";
        try
        {
            await subscriber.SubscribeAsync(channel, (_, message) =>
            {
                var text = message.ToString();
                if (!text.StartsWith(self, StringComparison.Ordinal) && text.Split('\n', 3) is [_, var id, var value])
                {
                    Providers.Translation.SignatureCache.Shared.Accept(id, value);
                }
            }).Within(BackgroundTimeout, Time);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            GatewayLog.SharedStateCallFailed(_logger, "subscribe", e.GetType().Name);
            return;
        }
        _translationShared = true;
        Providers.Translation.SignatureCache.Shared.Replicate = (id, value) =>
        {
            try
            {
                if (IsShared)
                {
                    subscriber.Publish(channel, self + id + "\n" + value, CommandFlags.FireAndForget);
                }
            }
            catch (RedisException)
            {
                // Not shared this time: the next turn on another replica degrades as without a state backend.
            }
        };
    }

    private async Task RestoredAsync()
    {
        await LoadScriptsAsync();
        await HeartbeatAsync();
    }

    private async Task LoadScriptsAsync()
    {
        try
        {
            foreach (var endpoint in _redis!.GetEndPoints())
            {
                var server = _redis.GetServer(endpoint);
                foreach (var script in (string[])[RedisScripts.Admit, RedisScripts.Charge, RedisScripts.Heartbeat, RedisScripts.OpenCircuit])
                {
                    await server.ScriptLoadAsync(script).Within(BackgroundTimeout, Time);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not there yet: the first call loads them instead.
            GatewayLog.SharedStateCallFailed(_logger, "script load", e.GetType().Name);
        }
    }

    /// <summary>Announces this replica and counts the live ones; while the health breaker is open it is the probe that closes it.</summary>
    private async Task HeartbeatAsync()
    {
        if (Database is not { } db)
        {
            return;
        }
        if (_redis is not { IsConnected: true })
        {
            // No connection: the client reconnects by itself (then this runs at once), and a call now could only fail.
            Health.Failed();
            return;
        }
        try
        {
            var live = (long)await db.ScriptEvaluateAsync(RedisScripts.Heartbeat, [_replicas], [ReplicaId]).Within(BackgroundTimeout, Time);
            Volatile.Write(ref _replicasSeen, (int)Math.Max(1, live));
            Health.Succeeded();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Health.Failed();
            GatewayLog.SharedStateCallFailed(_logger, "heartbeat", e.GetType().Name);
        }
    }

    private async Task FlushLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(_config.FlushInterval, Time, _stop.Token);
                // Never throws: a failed flush gives its debts back for the next one.
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One batch with one charge script per key that owes something (and, every third of the lease TTL, renews the
    /// leases of requests still running). While Redis is not in use nothing is sent and the debts wait, bounded.
    /// </summary>
    public async Task FlushAsync()
    {
        if (Database is not { } db || !Health.IsUp)
        {
            return;
        }
        long now = Time.GetTimestamp();
        Dictionary<KeyEntry, List<RedisValue>>? renewals = null;
        if (Time.GetElapsedTime(_lastRenewal, now) >= _config.LeaseTtl / 3)
        {
            _lastRenewal = now;
            renewals = [];
            foreach (var (lease, entry) in Limits.LiveLeases)
            {
                (renewals.TryGetValue(entry, out var leases) ? leases : renewals[entry] = []).Add(lease);
            }
        }
        var sent = new List<(KeyEntry Entry, KeyEntry.Owed Owed, Task? Call)>();
        try
        {
            var batch = db.CreateBatch();
            var utcNow = Time.GetUtcNow();
            foreach (var entry in Limits.Entries)
            {
                entry.Borrowed.CloseExpired(now);
                var owed = entry.Take();
                List<RedisValue>? renewing = null;
                renewals?.TryGetValue(entry, out renewing);
                if (owed.IsEmpty && renewing is null)
                {
                    continue;
                }
                sent.Add((entry, owed, null));
                var releases = owed.Releases;
                var spend = entry.Config.Budget is { } budget ? entry.SpendKey(budget, utcNow, KeyPrefix) : entry.Rpm;
                var args = new List<RedisValue>(8 + releases.Count + (renewing?.Count ?? 0))
                {
                    owed.Tokens, entry.Config.Tpm ?? 0, owed.MicroUsd, entry.SpendExpiry, (long)LeaseTtl.TotalMilliseconds, owed.UnusedPermits,
                    entry.Config.Rpm ?? 0, releases.Count,
                };
                args.AddRange(releases);
                if (renewing is not null)
                {
                    args.AddRange(renewing);
                }
                sent[^1] = sent[^1] with { Call = batch.ScriptEvaluateAsync(RedisScripts.Charge, [entry.Tpm, spend, entry.Leases, entry.Rpm], [.. args]) };
            }
            if (sent.Count == 0)
            {
                return;
            }
            batch.Execute();
            await Task.WhenAll(sent.Select(s => s.Call!)).Within(BackgroundTimeout, Time);
            Health.Succeeded();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Health.Failed();
            GatewayLog.SharedStateCallFailed(_logger, "flush", e.GetType().Name);
            foreach (var (entry, owed, call) in sent)
            {
                // Owed again unless the call is under way (it may land; nothing is sent twice).
                if (call is null || call.IsFaulted)
                {
                    entry.GiveBack(owed);
                }
            }
        }
    }

    internal static ConfigurationOptions Options(StateConfig config)
    {
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectTimeout = 2000,
            AsyncTimeout = 1000,
            // Also how long a command may wait for the connection's write lock, synchronously, on the caller's thread:
            // no more than a request's budget.
            SyncTimeout = (int)Math.Max(5, config.Timeout.TotalMilliseconds),
            ConnectRetry = 1,
            // A connection attempt to a dead Redis costs milliseconds of CPU (its exceptions): one a second, not two.
            ReconnectRetryPolicy = new LinearRetry(1000),
            ClientName = "gateway",
            Ssl = config.Tls,
            User = config.User,
            Password = config.Password?.Reveal(),
            DefaultDatabase = config.Database,
        };
        options.EndPoints.Add(config.Host, config.Port);
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loops;
        }
        catch (OperationCanceledException)
        {
        }
        // What answers owe goes out once more before the process ends.
        await FlushAsync();
        if (_redis is not null)
        {
            await _redis.CloseAsync();
            await _redis.DisposeAsync();
        }
        _stop.Dispose();
    }
}
