using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gateway.Core.Config;
using Gateway.Core.Diagnostics;
using Gateway.Core.Models;
using Gateway.Core.Providers;
using Gateway.Core.Proxy;
using Gateway.Core.Resilience;
using Gateway.Core.Responses;
using Gateway.Core.Responses.CompletionLog;
using Gateway.Core.Responses.Redaction;
using Gateway.Core.Routing;
using Gateway.Server.Dispatch;
using Gateway.Server.Handlers;
using Gateway.Server.Http;
using Gateway.Server.Middleware;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
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
    public IReadOnlyList<IResponseMiddleware> ResponseMiddleware { get; init; } = [];
}

/// <summary>
/// The composition root: Kestrel, the transport middleware chain and the dispatcher, over one published snapshot.
/// </summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, SnapshotHolder snapshots)
    {
        _app = app;
        Snapshots = snapshots;
    }

    public SnapshotHolder Snapshots { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The addresses Kestrel actually bound (port 0 resolved), available after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<Uri> Addresses =>
        [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a))];

    private const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel";

    public static GatewayHost Create(GatewayConfig config, GatewayHostOptions? options = null)
    {
        options ??= new GatewayHostOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        // Any enabled level on this category makes ASP.NET Core start an Activity and a log scope for every
        // request; the gateway has its own request log and spans, so it is off (measured: CPU per request).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        LogLevel kestrelMinimum;
        if (options.ConfigureLogging is { } configureLogging)
        {
            configureLogging(builder.Logging);
            // A host that brings its own logging (the tests) sees Kestrel from Debug, as before this rule existed.
            kestrelMinimum = LogLevel.Debug;
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            kestrelMinimum = LogLevel.Warning;
        }
        // Kestrel reports every request that failed after its response started as an application error; the
        // gateway ends such responses on purpose (see ResponseAbortedException) and logs real errors itself
        // (ErrorBarrierMiddleware), so these reports are noise. Only the most specific rule for a category applies,
        // so this one is a rule for Kestrel's categories with their minimum level, not a global filter (which the
        // "Microsoft" rule above would override: the fault soak found these lines in the console).
        builder.Services.Configure<LoggerFilterOptions>(filters => filters.Rules.Add(new LoggerFilterRule(
            null, KestrelCategory, null,
            (_, category, level) => level >= kestrelMinimum && !(category == KestrelCategory && level == LogLevel.Error))));

        var server = config.Server;
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = server.DrainTimeout);
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, server));

        var time = options.TimeProvider ?? TimeProvider.System;
        var limiters = new KeyLimiters(time);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(limiters);
        builder.Services.AddSingleton(new OverloadGuard(time));
        builder.Services.AddSingleton(new ProviderHealthRegistry(time));
        builder.Services.AddSingleton(sp => new CompletionQueue(CompletionQueue.DefaultCapacity, sp.GetRequiredService<ILogger<CompletionQueue>>()));
        if (config.CompletionLog is { } completionLog)
        {
            builder.Services.AddSingleton(sp => new CompletionLogWriter(
                completionLog, CreateSink(completionLog, time), time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.CompletionLog")));
        }
        // Every config revision gets the response middleware it asks for, built with its snapshot.
        builder.Services.AddSingleton(sp => new SnapshotBuilder(
            options.ClientFactory ?? new ProviderClientFactory(),
            sp.GetRequiredService<ProviderHealthRegistry>(),
            revision => new ResponsePipeline(ResponseMiddleware(sp, revision, limiters, time, options.ResponseMiddleware), sp.GetRequiredService<CompletionQueue>(), time)));
        builder.Services.AddSingleton(sp =>
        {
            var holder = new SnapshotHolder(sp.GetRequiredService<SnapshotBuilder>().Build(config));
            // Limiters live by key name outside the snapshots: a reload drops those of removed or changed keys.
            holder.Published += snapshot => limiters.Retain(snapshot.Config.Auth);
            return holder;
        });
        builder.Services.AddSingleton(sp => new ModelCatalogHolder(ModelRefresher.Initial(sp.GetRequiredService<SnapshotHolder>().Current)));
        builder.Services.AddSingleton<ReloadStatus>();
        builder.Services.AddSingleton(sp => new ConfigReloader(
            options.ConfigPath, options.Environment ?? EnvironmentExpander.FromProcess, sp.GetRequiredService<SnapshotHolder>(),
            sp.GetRequiredService<SnapshotBuilder>(), sp.GetRequiredService<ReloadStatus>(), time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Config")));
        builder.Services.AddSingleton<ModelRefresher>();
        builder.Services.AddHostedService<UnobservedExceptionReporter>();
        builder.Services.AddHostedService<ModelRefreshService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        builder.Services.AddHostedService(sp => new CompletionService(sp.GetRequiredService<CompletionQueue>(), sp.GetService<CompletionLogWriter>()));
        var telemetry = config.Telemetry ?? TelemetryConfig.Default;
        AddTelemetry(builder.Services, telemetry, options);
        builder.Services.AddSingleton(sp => new GatewayObservables(
            sp.GetRequiredService<SnapshotHolder>(), sp.GetRequiredService<CompletionQueue>(), sp.GetService<CompletionLogWriter>(), sp.GetRequiredService<ReloadStatus>()));
        builder.Services.AddSingleton<ProxyEngine>();
        builder.Services.AddSingleton<ProxyHandler>();
        builder.Services.AddSingleton<HealthHandler>();
        builder.Services.AddSingleton<ModelsHandler>();
        builder.Services.AddSingleton<AdminHandler>();
        builder.Services.AddSingleton<Dispatcher>();

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway");
        var snapshots = app.Services.GetRequiredService<SnapshotHolder>();
        LogStartup(logger, config);

        // The transport middleware chain, in order. Each is a Func<RequestDelegate, RequestDelegate>; each one that
        // config can switch off reads the request's pinned snapshot and passes straight through when it is off.
        if (telemetry.Metrics)
        {
            app.Services.GetRequiredService<GatewayObservables>();
            app.UseOpenTelemetryPrometheusScrapingEndpoint();
        }
        app.Use(RequestIdMiddleware.Create(snapshots, time));
        app.Use(TelemetryMiddleware.Create(time, telemetry.SampleRatio));
        app.Use(RequestLogMiddleware.Create(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Requests"), time));
        app.Use(ErrorBarrierMiddleware.Create(logger));
        app.Use(OverloadMiddleware.Create(app.Services.GetRequiredService<OverloadGuard>()));
        app.Use(AuthenticationMiddleware.Create());
        app.Use(RateLimitMiddleware.Create(limiters));
        var dispatcher = app.Services.GetRequiredService<Dispatcher>();
        app.Run(dispatcher.DispatchAsync);

        app.Lifetime.ApplicationStopped.Register(() => snapshots.Current.Dispose());
        return new GatewayHost(app, snapshots);
    }

    /// <summary>
    /// The response middleware of one config revision, in the order their completion callbacks run. Only what the
    /// config asks for is registered: with none, a response costs nothing in this layer.
    /// </summary>
    private static List<IResponseMiddleware> ResponseMiddleware(
        IServiceProvider services, GatewayConfig config, KeyLimiters limiters, TimeProvider time, IReadOnlyList<IResponseMiddleware> extra)
    {
        var middleware = new List<IResponseMiddleware>();
        if (config.Auth?.Keys.Any(k => k.Tpm is not null) == true)
        {
            middleware.Add(new TokenChargeMiddleware(limiters));
        }
        // The completion log's sink is opened once, at start-up (a reload that changes it asks for a restart).
        if (services.GetService<CompletionLogWriter>() is { } writer && config.CompletionLog is { } completionLog)
        {
            middleware.Add(new CompletionLogMiddleware(writer, completionLog, time));
        }
        if (config.Redact is { } redact)
        {
            middleware.Add(new RedactionMiddleware(redact));
        }
        middleware.AddRange(extra);
        return middleware;
    }

    /// <summary>OpenTelemetry: the gateway's meter to Prometheus (GET /metrics) and OTLP; its spans, sampled, to OTLP.</summary>
    private static void AddTelemetry(IServiceCollection services, TelemetryConfig telemetry, GatewayHostOptions options)
    {
        if (!telemetry.Metrics && !telemetry.Traces)
        {
            return;
        }
        var otel = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("gateway"));
        if (telemetry.Metrics)
        {
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayMetrics.MeterName).AddPrometheusExporter();
                if (telemetry.OtlpEndpoint is { } endpoint)
                {
                    metrics.AddOtlpExporter(o => Otlp(o, endpoint, telemetry.OtlpHttp, "v1/metrics"));
                }
            });
        }
        if (telemetry.Traces)
        {
            otel.WithTracing(tracing =>
            {
                // Sampling is decided before a span exists (GatewayTracing.StartRequest: the client's flag, else the ratio),
                // so an unsampled request allocates nothing; what reaches the SDK is sampled.
                tracing.AddSource(GatewayTracing.SourceName).SetSampler(new ParentBasedSampler(new AlwaysOnSampler()));
                if (telemetry.OtlpEndpoint is { } endpoint)
                {
                    tracing.AddOtlpExporter(o => Otlp(o, endpoint, telemetry.OtlpHttp, "v1/traces"));
                }
                options.ConfigureTracing?.Invoke(tracing);
            });
        }
    }

    private static void Otlp(OtlpExporterOptions options, Uri endpoint, bool http, string signalPath)
    {
        options.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        options.Endpoint = http ? new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + signalPath) : endpoint;
    }

    private static ICompletionSink CreateSink(CompletionLogConfig config, TimeProvider time) => config.Sink switch
    {
        CompletionSink.Elasticsearch => new BulkSink(config.Elasticsearch!, time),
        _ => new FileSink(config.Path, config.MaxFileBytes),
    };

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

    private static void ConfigureKestrel(KestrelServerOptions kestrel, ServerConfig server)
    {
        kestrel.AddServerHeader = false;
        // The proxy enforces max_request_body_bytes itself so that the client gets an OpenAI-shaped 413.
        kestrel.Limits.MaxRequestBodySize = null;
        var limits = server.Limits ?? ConnectionLimits.Default;
        kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
        kestrel.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
        kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        kestrel.RequestHeaderEncodingSelector = ConnectionHeaderDecoding.Select;

        X509Certificate2? certificate = server.Tls is { } tls
            ? X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath)
            : null;
        void Configure(ListenOptions listen)
        {
            if (certificate is not null)
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1;
            }
        }

        if (server.Host == "localhost")
        {
            kestrel.ListenLocalhost(server.Port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(server.Host), server.Port, Configure);
        }
    }

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
