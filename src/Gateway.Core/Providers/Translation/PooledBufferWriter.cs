using System.Buffers;

namespace Gateway.Core.Providers.Translation;

/// <summary>An <see cref="IBufferWriter{T}"/> over one rented array, reset and reused for a stream's life: what a translation writes per read.</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _array;

    public PooledBufferWriter(int capacity) => _array = ArrayPool<byte>.Shared.Rent(capacity);

    public int WrittenCount { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, WrittenCount);

    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, WrittenCount);

    public void Reset() => WrittenCount = 0;

    public void Advance(int count) => WrittenCount += count;

    /// <summary>Forgets what was written from <paramref name="count"/> on.</summary>
    public void Truncate(int count) => WrittenCount = Math.Min(count, WrittenCount);

    /// <summary>Forgets the first <paramref name="count"/> bytes; the rest moves to the front.</summary>
    public void DropFront(int count)
    {
        _array.AsSpan(count, WrittenCount - count).CopyTo(_array);
        WrittenCount -= count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(WrittenCount);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(WrittenCount);
    }

    private void Ensure(int sizeHint)
    {
        int needed = WrittenCount + Math.Max(sizeHint, 1);
        if (needed <= _array.Length)
        {
            return;
        }
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _array.Length * 2));
        _array.AsSpan(0, WrittenCount).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_array);
        _array = larger;
    }

    /// <summary>Hands the array (and what was written) to the caller, who returns it to the pool; this writer is then empty.</summary>
    public (byte[] Array, int Length) Detach()
    {
        var detached = (_array, WrittenCount);
        _array = [];
        WrittenCount = 0;
        return detached;
    }

    public void Dispose()
    {
        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = [];
        }
    }
}
