using System.Threading.Channels;
using Gateway.Core.Config;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Responses.CompletionLog;

/// <summary>Where completion records end up: a JSON-lines file, or an Elasticsearch/OpenSearch _bulk endpoint.</summary>
public interface ICompletionSink : IAsyncDisposable
{
    /// <summary>Writes one batch; throws only when the batch could not be written after the sink's own retries.</summary>
    ValueTask WriteAsync(IReadOnlyList<byte[]> records, CancellationToken cancellationToken);
}

/// <summary>
/// The completion log's own queue (queue_capacity records) and worker: records are batched (by count or after
/// flush_interval) and written by the sink. A full queue drops and counts; nothing here can slow a request.
/// </summary>
public sealed partial class CompletionLogWriter : IAsyncDisposable
{
    private readonly Channel<byte[]> _queue;
    private readonly ICompletionSink _sink;
    private readonly int _batchSize;
    private readonly TimeSpan _flushInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Task _worker;
    private long _dropped;
    private long _written;

    public CompletionLogWriter(CompletionLogConfig config, ICompletionSink sink, TimeProvider time, ILogger logger)
    {
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(config.QueueCapacity)
        {
            // Wait mode only matters to WriteAsync; TryWrite then reports a full queue (DropWrite would report success).
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _sink = sink;
        _batchSize = config.Elasticsearch?.BatchSize ?? 256;
        _flushInterval = config.Elasticsearch?.FlushInterval ?? TimeSpan.FromMilliseconds(200);
        _time = time;
        _logger = logger;
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Records dropped: the queue was full, or the sink gave up on their batch.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public long Written => Interlocked.Read(ref _written);

    public int Depth => _queue.Reader.Count;

    /// <summary>Raised after each batch (written or dropped), on the writer's worker.</summary>
    public event Action? BatchDone;

    public void Enqueue(byte[] record)
    {
        if (!_queue.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<byte[]>(_batchSize);
        while (await _queue.Reader.WaitToReadAsync())
        {
            // Gather a batch: what is queued now, then whatever arrives within the flush interval, up to the batch size.
            var batchStarted = _time.GetTimestamp();
            while (batch.Count < _batchSize)
            {
                if (_queue.Reader.TryRead(out var record))
                {
                    batch.Add(record);
                    continue;
                }
                var left = _flushInterval - _time.GetElapsedTime(batchStarted);
                if (left <= TimeSpan.Zero || _queue.Reader.Completion.IsCompleted)
                {
                    break;
                }
                using var wait = new CancellationTokenSource(left, _time);
                try
                {
                    if (!await _queue.Reader.WaitToReadAsync(wait.Token))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            try
            {
                await _sink.WriteAsync(batch, CancellationToken.None);
                Interlocked.Add(ref _written, batch.Count);
            }
            catch (Exception e)
            {
                Interlocked.Add(ref _dropped, batch.Count);
                LogBatchDropped(_logger, batch.Count, e.Message);
            }
            batch.Clear();
            BatchDone?.Invoke();
        }
    }

    /// <summary>Stops taking records and writes what is queued (the host bounds this by its drain timeout).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker;
        await _sink.DisposeAsync();
    }

    [LoggerMessage(30, LogLevel.Warning, "completion_log: dropped a batch of {Count} records: {Reason}")]
    private static partial void LogBatchDropped(ILogger logger, int count, string reason);
}
