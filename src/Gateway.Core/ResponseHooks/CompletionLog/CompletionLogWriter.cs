using System.Threading.Channels;
using Gateway.Core.Config;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.ResponseHooks.CompletionLog;

/// <summary>Where completion records end up: a JSON-lines file, or an Elasticsearch/OpenSearch _bulk endpoint.</summary>
internal interface ICompletionSink : IAsyncDisposable
{
    /// <summary>
    /// Writes one batch; throws only when the whole batch could not be written after the sink's own retries. Records
    /// of the batch the sink refused one by one are reported in the result.
    /// </summary>
    ValueTask<SinkResult> WriteAsync(IReadOnlyList<byte[]> records, CancellationToken cancellationToken);
}

/// <summary>What became of a batch's records that were not written, item by item.</summary>
/// <param name="Rejected">Refused for good by the sink (e.g. a mapping error).</param>
/// <param name="Exhausted">Refused for now (429/5xx) on every try.</param>
/// <param name="FirstReason">The first refusal's reason, for the one log line per batch.</param>
internal readonly record struct SinkResult(int Rejected, int Exhausted, string? FirstReason)
{
    public static SinkResult Written => default;

    public SinkResult WithRejected(int count, string? reason) => count == 0 ? this : this with { Rejected = Rejected + count, FirstReason = FirstReason ?? reason };

    public SinkResult WithExhausted(int count, string reason) => count == 0 ? this : this with { Exhausted = Exhausted + count, FirstReason = FirstReason ?? reason };
}

/// <summary>Why completion records were dropped (the reason label of gateway_completion_log_dropped_total).</summary>
internal enum DropReason
{
    /// <summary>The queue was full when the record was enqueued.</summary>
    QueueFull,

    /// <summary>The sink gave up on the whole batch.</summary>
    SinkFailed,

    /// <summary>The sink refused the record for good.</summary>
    Rejected,

    /// <summary>The sink refused the record for now on every try.</summary>
    RetriesExhausted,
}

/// <summary>
/// The completion log's own queue (queue_capacity records) and worker: records are batched (by count or after
/// flush_interval) and written by the sink. A full queue drops and counts; nothing here can slow a request.
/// </summary>
internal sealed partial class CompletionLogWriter : IAsyncDisposable
{
    private readonly Channel<byte[]> _queue;
    private readonly ICompletionSink _sink;
    private readonly int _batchSize;
    private readonly TimeSpan _flushInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Task _worker;
    private readonly long[] _dropped = new long[4];
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

    /// <summary>Records dropped, for any reason.</summary>
    public long Dropped => DroppedFor(DropReason.QueueFull) + DroppedFor(DropReason.SinkFailed) + DroppedFor(DropReason.Rejected) + DroppedFor(DropReason.RetriesExhausted);

    public long DroppedFor(DropReason reason) => Interlocked.Read(ref _dropped[(int)reason]);

    private void Drop(DropReason reason, long count) => Interlocked.Add(ref _dropped[(int)reason], count);

    public long Written => Interlocked.Read(ref _written);

    public int Depth => _queue.Reader.Count;

    /// <summary>Raised after each batch (written or dropped), on the writer's worker.</summary>
    public event Action? BatchDone;

    public void Enqueue(byte[] record)
    {
        if (!_queue.Writer.TryWrite(record))
        {
            Drop(DropReason.QueueFull, 1);
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
                var result = await _sink.WriteAsync(batch, CancellationToken.None);
                Interlocked.Add(ref _written, batch.Count - result.Rejected - result.Exhausted);
                if (result.Rejected + result.Exhausted > 0)
                {
                    Drop(DropReason.Rejected, result.Rejected);
                    Drop(DropReason.RetriesExhausted, result.Exhausted);
                    LogRecordsDropped(_logger, result.Rejected + result.Exhausted, batch.Count, result.FirstReason ?? "refused");
                }
            }
            catch (Exception e)
            {
                Drop(DropReason.SinkFailed, batch.Count);
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

    [LoggerMessage(31, LogLevel.Warning, "completion_log: the sink refused {Count} of a batch of {BatchSize} records; first reason: {Reason}")]
    private static partial void LogRecordsDropped(ILogger logger, int count, int batchSize, string reason);
}
