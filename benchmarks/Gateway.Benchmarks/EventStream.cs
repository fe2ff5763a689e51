namespace Gateway.Benchmarks;

/// <summary>An upstream that returns one event per read (or fixed-size cuts), synchronously.</summary>
internal sealed class EventStream(byte[] data) : Stream
{
    private int _position;

    public int SplitEvery { get; set; }

    public void Rewind() => _position = 0;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var rest = data.AsSpan(_position);
        int n = SplitEvery > 0 ? Math.Min(SplitEvery, rest.Length) : rest.IndexOf("\n\n"u8) is var end and >= 0 ? end + 2 : rest.Length;
        n = Math.Min(n, buffer.Length);
        rest[..n].CopyTo(buffer.Span);
        _position += n;
        return new ValueTask<int>(n);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => data.Length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
