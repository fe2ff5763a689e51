using Gateway.Core.Models;
using Gateway.Core.Routing;

namespace Gateway.Server.Hosting;

/// <summary>
/// Refreshes the model list at start-up and then every models.refresh_interval (read from the current snapshot
/// each time). Runs beside the request path; requests only ever read the last complete catalog.
/// </summary>
internal sealed partial class ModelRefreshService : BackgroundService
{
    private readonly ModelRefresher _refresher;
    private readonly SnapshotHolder _snapshots;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ModelRefreshService(ModelRefresher refresher, SnapshotHolder snapshots, TimeProvider time, ILogger<ModelRefreshService> logger)
    {
        _refresher = refresher;
        _snapshots = snapshots;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Off the start-up path: the first refresh must not delay listening.
        await Task.Yield();
        // A reload refreshes at once: new providers and strategies appear in /v1/models without waiting an interval.
        using var reloaded = new SemaphoreSlim(0, 1);
        void Wake(GatewaySnapshot _)
        {
            if (reloaded.CurrentCount == 0)
            {
                try
                {
                    reloaded.Release();
                }
                catch (SemaphoreFullException)
                {
                }
            }
        }
        _snapshots.Published += Wake;
        try
        {
            await RunAsync(reloaded, stoppingToken);
        }
        finally
        {
            _snapshots.Published -= Wake;
        }
    }

    private async Task RunAsync(SemaphoreSlim reloaded, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var snapshot = _snapshots.Acquire();
            try
            {
                await _refresher.RefreshAsync(snapshot, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                RefreshCrashed(_logger, e);
            }
            finally
            {
                snapshot.Release();
            }
            try
            {
                using var interval = new CancellationTokenSource(snapshot.Config.Models.RefreshInterval, _time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, interval.Token);
                await reloaded.WaitAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The interval passed.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(310, LogLevel.Error, "models: refresh failed unexpectedly; the last model list stays in service")]
    private static partial void RefreshCrashed(ILogger logger, Exception exception);
}
