namespace Gateway.MockProvider;

/// <summary>What the mock received, and what happened while it answered. Tests assert on these.</summary>
public sealed class RecordedRequest
{
    public required string Method { get; init; }

    public required string Path { get; init; }

    public required string Query { get; init; }

    /// <summary>The request target exactly as it arrived, before the server decoded anything.</summary>
    public required string RawTarget { get; init; }

    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    public required byte[] Body { get; init; }

    /// <summary>Completes when the mock observes that the caller aborted the request.</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the mock has sent its last byte.</summary>
    public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _chunksSent;

    public int ChunksSent => Volatile.Read(ref _chunksSent);

    internal void ChunkSent() => Interlocked.Increment(ref _chunksSent);

    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}
