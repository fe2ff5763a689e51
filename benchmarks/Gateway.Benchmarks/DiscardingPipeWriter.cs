using System.IO.Pipelines;

namespace Gateway.Benchmarks;

/// <summary>A client that accepts everything at once (Kestrel's writer minus the socket).</summary>
internal sealed class DiscardingPipeWriter : PipeWriter
{
    private readonly byte[] _block = new byte[4096];

    public override Memory<byte> GetMemory(int sizeHint = 0) => _block;

    public override Span<byte> GetSpan(int sizeHint = 0) => _block;

    public override void Advance(int bytes) { }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => new(new FlushResult(false, false));

    public override void CancelPendingFlush() { }

    public override void Complete(Exception? exception = null) { }
}
