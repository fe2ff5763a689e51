namespace Gateway.Server.Hosting;

/// <summary>
/// Logs a task that failed with nobody awaiting it: a bug in fire-and-forget work (a reload, a callback, a
/// background send) that would otherwise vanish without a trace. Marked observed, so it never ends the process.
/// </summary>
internal sealed partial class UnobservedExceptionReporter : IHostedService
{
    private readonly ILogger _logger;

    public UnobservedExceptionReporter(ILogger<UnobservedExceptionReporter> logger) => _logger = logger;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        TaskScheduler.UnobservedTaskException -= OnUnobserved;
        return Task.CompletedTask;
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        LogUnobserved(_logger, e.Exception);
        e.SetObserved();
    }

    [LoggerMessage(900, LogLevel.Error, "unobserved task exception: a task failed and nothing awaited it (a gateway bug)")]
    private static partial void LogUnobserved(ILogger logger, Exception exception);
}
