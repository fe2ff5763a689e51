using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.ResponseHooks;

/// <summary>
/// Where ended responses wait for their <see cref="OnCompletion"/> callbacks: a bounded channel drained by one
/// background worker. When it is full the response is dropped and counted: the client is never blocked.
/// </summary>
internal sealed partial class CompletionQueue
{
    private readonly Channel<PendingCompletion> _channel;
    private readonly ILogger _logger;
    private long _dropped;

    public CompletionQueue(int capacity, ILogger<CompletionQueue> logger)
    {
        _channel = Channel.CreateBounded<PendingCompletion>(new BoundedChannelOptions(capacity)
        {
            // Wait mode only matters to WriteAsync; TryWrite then reports a full queue (DropWrite would report success).
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _logger = logger;
    }

    public const int DefaultCapacity = 10_000;

    public long Dropped => Interlocked.Read(ref _dropped);

    public int Depth => _channel.Reader.Count;

    internal void Enqueue(PendingCompletion pending)
    {
        if (!_channel.Writer.TryWrite(pending))
        {
            Interlocked.Increment(ref _dropped);
            pending.Release();
        }
    }

    /// <summary>Runs the callbacks until <paramref name="stopping"/>, then drains what is queued (the host bounds that by its drain timeout).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (await _channel.Reader.WaitToReadAsync(stopping))
            {
                while (_channel.Reader.TryRead(out var pending))
                {
                    await Process(pending);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        await DrainAsync();
    }

    /// <summary>Runs the callbacks of everything still queued.</summary>
    public async Task DrainAsync()
    {
        while (_channel.Reader.TryRead(out var pending))
        {
            await Process(pending);
        }
    }

    private async ValueTask Process(PendingCompletion pending)
    {
        try
        {
            foreach (var callback in pending.Callbacks)
            {
                try
                {
                    await callback(pending.Response);
                }
                catch (Exception e)
                {
                    LogCallbackFailed(_logger, pending.Response.Start.RequestId, e);
                }
            }
        }
        finally
        {
            pending.Release();
            LogProcessed(_logger, pending.Response.Start.RequestId);
        }
    }

    [LoggerMessage(20, LogLevel.Error, "Request {RequestId}: a completion callback failed")]
    private static partial void LogCallbackFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(21, LogLevel.Debug, "Request {RequestId}: completion callbacks done")]
    private static partial void LogProcessed(ILogger logger, string requestId);
}

/// <summary>One ended response and what to run for it; owns the completion buffer until the callbacks are done.</summary>
internal sealed class PendingCompletion(CompletedResponse response, List<OnCompletion> callbacks, CompletionBuffer? buffer)
{
    public CompletedResponse Response => response;

    public List<OnCompletion> Callbacks => callbacks;

    public void Release() => buffer?.Dispose();
}
