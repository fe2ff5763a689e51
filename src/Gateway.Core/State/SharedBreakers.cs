using System.Collections.Concurrent;
using Gateway.Core.Diagnostics;
using Gateway.Core.Resilience;
using StackExchange.Redis;

namespace Gateway.Core.State;

/// <summary>
/// Providers' circuits across replicas. An opening that says something about the provider — a 429 with Retry-After,
/// a circuit opened by 5xx or timeouts — becomes a shared deadline (extend-only, in Redis) that the other replicas
/// learn at once by pub/sub and, should a message be lost, within a second by polling. When it passes, exactly one
/// replica sends the half-open probe: the one that takes the probe lock (SET NX, 10 s); its success closes the
/// circuit everywhere, its failure opens it again. Openings of local origin (this replica cannot connect) are never
/// shared, and without Redis every replica's circuits are its own again.
/// </summary>
internal sealed class SharedBreakers
{
    private static readonly TimeSpan s_probeLock = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_poll = TimeSpan.FromSeconds(1);

    private readonly SharedState _state;
    private readonly ProviderHealthRegistry _registry;
    private readonly RedisChannel _channel;
    // Providers opened through the shared state, and when this replica next tries for the probe (a timestamp).
    private readonly ConcurrentDictionary<string, long> _openings = new(StringComparer.OrdinalIgnoreCase);
    private bool _subscribed;
    private long _lastPoll;

    public SharedBreakers(SharedState state, ProviderHealthRegistry registry)
    {
        _state = state;
        _registry = registry;
        _channel = RedisChannel.Literal(state.KeyPrefix + "v1:events");
    }

    private RedisKey Circuit(string provider) => _state.KeyPrefix + "v1:{p:" + provider + "}:cb";

    private RedisKey Probe(string provider) => _state.KeyPrefix + "v1:{p:" + provider + "}:probe";

    /// <summary>This replica opened a provider's circuit for a provider-attributable reason: shared (fire and forget).</summary>
    public void Opened(string provider, TimeSpan cooldown)
    {
        if (_state.IsShared && _state.Database is { } db)
        {
            // Like any replica's opening: this one too probes only if it wins the probe lock.
            Apply(provider, cooldown);
            RedisCalls.Observe(db.ScriptEvaluateAsync(RedisScripts.OpenCircuit, [Circuit(provider)],
                [(long)cooldown.TotalMilliseconds, _state.ReplicaId, _channel.ToString(), provider]));
        }
    }

    /// <summary>This replica's probe succeeded: the circuit closes everywhere.</summary>
    public void Closed(string provider)
    {
        _openings.TryRemove(provider, out _);
        if (_state.IsShared && _state.Database is { } db)
        {
            var batch = db.CreateBatch();
            RedisCalls.Observe(batch.KeyDeleteAsync([Circuit(provider), Probe(provider)]));
            RedisCalls.Observe(batch.PublishAsync(_channel, "close|" + provider));
            batch.Execute();
        }
    }

    /// <summary>Subscription, the probe lock when an opening ends, the poll backstop; every 100 ms, never on a request's path.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(s_tick, _state.Time, stop);
            try
            {
                await TickAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                GatewayLog.SharedStateCallFailed(_state.Logger, "circuit", e.GetType().Name);
            }
        }
    }

    private async Task TickAsync()
    {
        if (!_state.IsShared || _state.Multiplexer is not { } redis || _state.Database is not { } db)
        {
            // Without Redis each replica's circuits are its own: nobody else will probe.
            foreach (var provider in _openings.Keys)
            {
                _registry.For(provider).HoldProbe(false);
            }
            _openings.Clear();
            return;
        }
        if (!_subscribed)
        {
            await redis.GetSubscriber().SubscribeAsync(_channel, (_, message) => OnMessage(message)).Within(SharedState.BackgroundTimeout, _state.Time);
            _subscribed = true;
        }
        long now = _state.Time.GetTimestamp();
        foreach (var (provider, tryAt) in _openings)
        {
            if (now < tryAt)
            {
                continue;
            }
            var health = _registry.For(provider);
            if (!health.IsOpen)
            {
                _openings.TryRemove(provider, out _);
                continue;
            }
            bool won = await db.StringSetAsync(Probe(provider), _state.ReplicaId, s_probeLock, When.NotExists).Within(SharedState.BackgroundTimeout, _state.Time);
            // The winner probes as an ordinary half-open circuit; the others wait for its word, or for its lock to lapse.
            health.HoldProbe(!won);
            _openings[provider] = won ? long.MaxValue : now + Ticks(s_probeLock);
        }
        if (_state.Time.GetElapsedTime(_lastPoll, now) >= s_poll)
        {
            _lastPoll = now;
            await PollAsync(db);
        }
    }

    /// <summary>The backstop of a lost message: every provider's shared deadline, read once a second.</summary>
    private async Task PollAsync(IDatabase db)
    {
        var providers = _registry.All.Select(h => h.Name).ToList();
        var batch = db.CreateBatch();
        var calls = providers.Select(p => batch.KeyTimeToLiveAsync(Circuit(p))).ToList();
        batch.Execute();
        await Task.WhenAll(calls).Within(SharedState.BackgroundTimeout, _state.Time);
        for (int i = 0; i < providers.Count; i++)
        {
            if (calls[i].Result is { } left && left > TimeSpan.Zero)
            {
                Apply(providers[i], left);
            }
        }
    }

    private void OnMessage(RedisValue message)
    {
        var parts = message.ToString().Split('|');
        if (parts is ["open", var provider, var left] && long.TryParse(left, out long ms))
        {
            Apply(provider, TimeSpan.FromMilliseconds(ms));
        }
        else if (parts is ["close", var closed])
        {
            _openings.TryRemove(closed, out _);
            _registry.For(closed).CloseShared();
        }
    }

    private void Apply(string provider, TimeSpan left)
    {
        _registry.For(provider).OpenAtLeast(left);
        long until = _state.Time.GetTimestamp() + Ticks(left);
        _openings.AddOrUpdate(provider, until, (_, current) => current == long.MaxValue || current < until ? until : current);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _state.Time.TimestampFrequency);
}
