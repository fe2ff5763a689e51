using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.ResponseHooks;
using Gateway.Core.Routing;
using Gateway.Server.Middleware;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OpenTelemetry.Trace;

namespace Gateway.Server.Hosting;

/// <summary>Options for embedding the gateway (tests, benchmarks). Production uses the defaults.</summary>
internal sealed class GatewayHostOptions
{
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    public ProviderClientFactory? ClientFactory { get; init; }

    public TimeProvider? TimeProvider { get; init; }

    /// <summary>The config file, watched for changes (with SIGHUP and POST /admin/reload); null: no reloads.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Expands ${VAR} when the file is reloaded (default: the process environment).</summary>
    public EnvironmentExpander? Environment { get; init; }

    /// <summary>More trace exporters (tests: in-memory), used when telemetry.traces is on.</summary>
    public Action<TracerProviderBuilder>? ConfigureTracing { get; init; }

    /// <summary>Response middleware added after the built-in ones (embedding: your own extensions).</summary>
    public IReadOnlyList<IResponseHook> ResponseHooks { get; init; } = [];
}

/// <summary>
/// The composition root: Kestrel, the transport middleware chain and the dispatcher, over one published snapshot.
/// </summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, GatewayComponents components)
    {
        _app = app;
        Components = components;
    }

    /// <summary>The gateway's objects (tests reach the limiters, the catalog, the reloader through it).</summary>
    public GatewayComponents Components { get; }

    public SnapshotHolder Snapshots => Components.Snapshots;

    public IServiceProvider Services => _app.Services;

    /// <summary>The addresses Kestrel actually bound (port 0 resolved), available after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<Uri> Addresses =>
        [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a))];

    public static GatewayHost Create(GatewayConfig config, GatewayHostOptions? options = null)
    {
        options ??= new GatewayHostOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        LoggingSetup.Configure(builder, options);
        builder.WebHost.ConfigureKestrel(kestrel => KestrelSetup.Configure(kestrel, config.Server));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = config.Server.DrainTimeout);
        var telemetry = config.Telemetry ?? TelemetryConfig.Default;
        TelemetrySetup.Add(builder.Services, telemetry, options);
        // Everything of the gateway itself is built with plain new (GatewayComponents); the container holds that one
        // object and the background services around it.
        builder.Services.AddSingleton(sp => new GatewayComponents(config, options, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService<UnobservedExceptionReporter>();
        builder.Services.AddHostedService(sp => ComponentsOf(sp).Reloader);
        builder.Services.AddHostedService(sp => new ModelRefreshService(
            ComponentsOf(sp).Refresher, ComponentsOf(sp).Snapshots, ComponentsOf(sp).Time, sp.GetRequiredService<ILogger<ModelRefreshService>>()));
        builder.Services.AddHostedService(sp => new CompletionService(ComponentsOf(sp).Completions, ComponentsOf(sp).CompletionLog, ComponentsOf(sp).State));

        var app = builder.Build();
        var gateway = ComponentsOf(app.Services);
        LogStartup(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway"), config);

        // The transport middleware chain, in order. Each is a Func<RequestDelegate, RequestDelegate>; each one that
        // config can switch off reads the request's pinned snapshot and passes straight through when it is off.
        if (telemetry.Metrics)
        {
            gateway.ExportObservables();
            app.UseOpenTelemetryPrometheusScrapingEndpoint();
        }
        var logs = app.Services.GetRequiredService<ILoggerFactory>();
        app.Use(RequestIdMiddleware.Create(gateway.Snapshots, gateway.Time));
        app.Use(TelemetryMiddleware.Create(gateway.Time, telemetry.SampleRatio));
        app.Use(RequestLogMiddleware.Create(logs.CreateLogger("Gateway.Requests"), gateway.Time));
        app.Use(ErrorBarrierMiddleware.Create(logs.CreateLogger("Gateway")));
        app.Use(OverloadMiddleware.Create(gateway.Overload));
        app.Use(AuthenticationMiddleware.Create());
        app.Use(RateLimitMiddleware.Create(gateway.Limiters, gateway.SharedLimits));
        app.Run(gateway.Dispatcher.DispatchAsync);

        app.Lifetime.ApplicationStopped.Register(() => gateway.Snapshots.Current.Dispose());
        return new GatewayHost(app, gateway);
    }

    private static GatewayComponents ComponentsOf(IServiceProvider services) => services.GetRequiredService<GatewayComponents>();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        var logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway");
        foreach (var address in Addresses)
        {
            HostLog.Listening(logger, address.ToString());
        }
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static void LogStartup(ILogger logger, GatewayConfig config)
    {
        foreach (var provider in config.Providers)
        {
            var baseUrl = provider.BaseUrl.GetLeftPart(UriPartial.Path);
            if (provider.Enabled)
            {
                HostLog.ProviderEnabled(logger, provider.Name, provider.Type, baseUrl);
            }
            else
            {
                HostLog.ProviderDisabled(logger, provider.Name, provider.Type, baseUrl, provider.DisabledReason ?? "disabled");
            }
        }
        foreach (var strategy in config.Strategies)
        {
            HostLog.Strategy(logger, strategy.Name, string.Join(" -> ", strategy.Targets));
        }
        if (config.Auth is null)
        {
            HostLog.OpenGateway(logger);
        }
        if (config.Admin?.DisabledReason is { } adminDisabled)
        {
            HostLog.AdminDisabled(logger, adminDisabled);
        }
        foreach (var key in config.Auth?.Keys ?? [])
        {
            if (key.DisabledReason is not null)
            {
                HostLog.KeyDisabled(logger, key.Name, key.DisabledReason);
            }
        }
    }
}

internal static partial class HostLog
{
    [LoggerMessage(100, LogLevel.Information, "provider {Name}: type={Type} base_url={BaseUrl} enabled")]
    public static partial void ProviderEnabled(ILogger logger, string name, string type, string baseUrl);

    [LoggerMessage(101, LogLevel.Warning, "provider {Name}: type={Type} base_url={BaseUrl} DISABLED ({Reason})")]
    public static partial void ProviderDisabled(ILogger logger, string name, string type, string baseUrl, string reason);

    [LoggerMessage(102, LogLevel.Information, "strategy {Name}: {Targets}")]
    public static partial void Strategy(ILogger logger, string name, string targets);

    [LoggerMessage(105, LogLevel.Warning, "auth: no auth section, so the gateway is open to anyone who can reach it")]
    public static partial void OpenGateway(ILogger logger);

    [LoggerMessage(106, LogLevel.Warning, "auth: key {Name} is DISABLED ({Reason}); requests with it get 401")]
    public static partial void KeyDisabled(ILogger logger, string name, string reason);

    [LoggerMessage(107, LogLevel.Warning, "admin: the admin endpoints are DISABLED ({Reason})")]
    public static partial void AdminDisabled(ILogger logger, string reason);

    [LoggerMessage(104, LogLevel.Information, "listening on {Address}")]
    public static partial void Listening(ILogger logger, string address);
}
