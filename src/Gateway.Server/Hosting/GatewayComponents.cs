using Gateway.Core.Config;
using Gateway.Core.Models;
using Gateway.Core.Providers;
using Gateway.Core.Proxy;
using Gateway.Core.Resilience;
using Gateway.Core.ResponseHooks;
using Gateway.Core.ResponseHooks.CompletionLog;
using Gateway.Core.Routing;
using Gateway.Core.Spend;
using Gateway.Core.State;
using Gateway.Server.Dispatch;
using Gateway.Server.Handlers;
using Gateway.Server.Middleware;
using Gateway.Server.ResponseHooks;

namespace Gateway.Server.Hosting;

/// <summary>
/// Every object of a running gateway, built with plain <c>new</c> in dependency order: what the request path, the
/// background services and the handlers share. The host's container only holds this one object (and the hosting
/// infrastructure), so reading this constructor shows what depends on what.
/// </summary>
internal sealed class GatewayComponents : IDisposable
{
    public GatewayComponents(GatewayConfig config, GatewayHostOptions options, ILoggerFactory logs)
    {
        Time = options.TimeProvider ?? TimeProvider.System;
        Limiters = new KeyLimiters(Time);
        Spend = new SpendLedger(Time);
        if (config.State is { } state)
        {
            // Started at once, connected in the background: the gateway is ready before Redis answers (degraded until then).
            State = SharedState.Start(state, Time, logs.CreateLogger("Gateway.State"));
            SharedLimits = new SharedRateLimit(State.Limits, new KeyLimiters(Time));
            Spend.Shared = State.Limits;
        }
        Overload = new OverloadGuard(Time);
        Health = new ProviderHealthRegistry(Time);
        State?.ShareCircuits(Health);
        Completions = new CompletionQueue(CompletionQueue.DefaultCapacity, logs.CreateLogger<CompletionQueue>());
        if (config.CompletionLog is { } completionLog)
        {
            // Opened once, at start-up: a reload that changes the completion log asks for a restart.
            CompletionLog = new CompletionLogWriter(
                completionLog, ResponseHookSetup.CreateSink(completionLog, Time), Time, logs.CreateLogger("Gateway.CompletionLog"));
        }
        // Every config revision gets the response hooks it asks for, built with its snapshot.
        Builder = new SnapshotBuilder(
            options.ClientFactory ?? new ProviderClientFactory(), Health,
            revision => new ResponsePipeline(ResponseHookSetup.For(revision, Limiters, SharedLimits, CompletionLog, Time, options.ResponseHooks), Completions, Time),
            Spend);
        Snapshots = new SnapshotHolder(Builder.Build(config));
        // Limiters live by key name outside the snapshots: a reload drops those of removed or changed keys.
        Snapshots.Published += snapshot => Limiters.Retain(snapshot.Config.Auth);
        Catalog = new ModelCatalogHolder(ModelRefresher.Initial(Snapshots.Current));
        Reloads = new ReloadStatus();
        Reloader = new ConfigReloader(
            options.ConfigPath, options.Environment ?? EnvironmentExpander.FromProcess, Snapshots, Builder, Reloads, Time, logs.CreateLogger("Gateway.Config"));
        Refresher = new ModelRefresher(Catalog, logs.CreateLogger<ModelRefresher>(), Time);
        Engine = new ProxyEngine(logs.CreateLogger<ProxyEngine>(), Time, Catalog);
        Dispatcher = new Dispatcher(
            new ProxyHandler(Engine, Time), new MessagesHandler(Engine, Time), new HealthHandler(Snapshots, Refresher, Reloads, Overload), new ModelsHandler(Catalog), new AdminHandler(Reloader));
    }

    public TimeProvider Time { get; }

    public KeyLimiters Limiters { get; }

    /// <summary>Spend per key and model for the process's life (every snapshot shares it; a reload keeps it).</summary>
    public SpendLedger Spend { get; }

    /// <summary>With a <c>state</c> section: the state shared with the other replicas through Redis.</summary>
    public SharedState? State { get; }

    /// <summary>With a <c>state</c> section: the per-key limits as the middleware enforces them across replicas.</summary>
    public SharedRateLimit? SharedLimits { get; }

    public OverloadGuard Overload { get; }

    public ProviderHealthRegistry Health { get; }

    public CompletionQueue Completions { get; }

    public CompletionLogWriter? CompletionLog { get; }

    public SnapshotBuilder Builder { get; }

    public SnapshotHolder Snapshots { get; }

    public ModelCatalogHolder Catalog { get; }

    public ReloadStatus Reloads { get; }

    public ConfigReloader Reloader { get; }

    public ModelRefresher Refresher { get; }

    /// <summary>The instruments read at collection (circuits, queues, reloads), when metrics are exported.</summary>
    public GatewayObservables? Observables { get; private set; }

    public void ExportObservables() => Observables ??= new GatewayObservables(Snapshots, Completions, CompletionLog, Reloads, State);

    public ProxyEngine Engine { get; }

    public Dispatcher Dispatcher { get; }

    /// <summary>The container disposes this with the host: the meter of the observables and the config watcher.</summary>
    public void Dispose()
    {
        Observables?.Dispose();
        Reloader.Dispose();
    }
}
