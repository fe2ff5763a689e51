using BenchmarkDotNet.Attributes;
using Gateway.Core.Proxy;

namespace Gateway.Benchmarks;

/// <summary>
/// Step 7: the copy loop over a 64 KiB upstream body arriving in chunks of 64 B, 1 KiB or 16 KiB, into a
/// discarding client writer; tee off, on, and on with its cap reached. Budget: 0 B/op.
/// </summary>
[BenchmarkCategory("HotPath")]
public class CopyLoopBenchmarks
{
    private const int BodySize = 64 * 1024;

    private readonly ChunkedStream _upstream = new(BodySize);
    private readonly DiscardingPipeWriter _client = new();
    private CappedTee? _tee;

    [Params(64, 1024, 16384)]
    public int ChunkSize { get; set; }

    [Params("off", "on", "cap-reached")]
    public string Tee { get; set; } = "off";

    [GlobalSetup]
    public void Setup()
    {
        _upstream.ChunkSize = ChunkSize;
        _tee = Tee switch
        {
            "on" => new CappedTee(BodySize),
            "cap-reached" => new CappedTee(4096),
            _ => null,
        };
    }

    [Benchmark]
    public long Copy()
    {
        _upstream.Rewind();
        _tee?.Reset();
        var task = StreamCopier.CopyAsync(_upstream, _client, _tee, flushEachRead: false, CancellationToken.None);
        return task.IsCompletedSuccessfully ? task.Result.Bytes : task.AsTask().GetAwaiter().GetResult().Bytes;
    }

    /// <summary>An upstream body that is always ready: every read returns at most one chunk, synchronously.</summary>
    private sealed class ChunkedStream(int length) : Stream
    {
        private static readonly byte[] s_data = new byte[64 * 1024];
        private int _position;

        public int ChunkSize { get; set; } = 1024;

        public void Rewind() => _position = 0;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = Math.Min(Math.Min(buffer.Length, ChunkSize), length - _position);
            s_data.AsSpan(_position % s_data.Length, n).CopyTo(buffer.Span);
            _position += n;
            return new ValueTask<int>(n);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Copies chunks into a preallocated buffer until its capacity is reached, then only counts them.</summary>
    private sealed class CappedTee(int capacity) : IBodyTee
    {
        private readonly byte[] _buffer = new byte[capacity];
        private int _length;

        public long Dropped { get; private set; }

        public void Reset()
        {
            _length = 0;
            Dropped = 0;
        }

        public void Append(ReadOnlySpan<byte> chunk)
        {
            int n = Math.Min(chunk.Length, _buffer.Length - _length);
            chunk[..n].CopyTo(_buffer.AsSpan(_length));
            _length += n;
            Dropped += chunk.Length - n;
        }
    }
}
