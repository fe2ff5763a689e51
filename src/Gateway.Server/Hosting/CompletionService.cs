using Gateway.Core.ResponseHooks;
using Gateway.Core.ResponseHooks.CompletionLog;

namespace Gateway.Server.Hosting;

/// <summary>
/// Runs the response middleware's completion callbacks beside the request path, and on shutdown lets them (and the
/// completion log's queue) drain within the host's drain timeout; then what answers owe the shared state (their
/// charges came from those callbacks) is flushed once more.
/// </summary>
internal sealed class CompletionService : BackgroundService
{
    private readonly CompletionQueue _queue;
    private readonly CompletionLogWriter? _completionLog;
    private readonly Gateway.Core.State.SharedState? _state;

    public CompletionService(CompletionQueue queue, CompletionLogWriter? completionLog = null, Gateway.Core.State.SharedState? state = null)
    {
        _queue = queue;
        _completionLog = completionLog;
        _state = state;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _queue.RunAsync(stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _queue.DrainAsync();
        if (_completionLog is not null)
        {
            await _completionLog.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        }
        if (_state is not null)
        {
            await _state.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        }
    }
}
