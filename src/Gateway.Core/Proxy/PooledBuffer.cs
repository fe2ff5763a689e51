using System.Buffers;

namespace Gateway.Core.Proxy;

/// <summary>A request body held in one rented array. The bytes are valid until <see cref="Dispose"/>; dispose exactly once.</summary>
public sealed class PooledBuffer : IDisposable
{
    // The shared pool keeps only a few arrays per size and core: with hundreds of large bodies in flight, every
    // extra rent would be a fresh large-object-heap array and every return garbage for a gen-2 collection.
    // Bodies up to 256 KiB get a pool sized for that concurrency (it only ever holds what a burst needed at once);
    // larger ones are rare and not kept.
    private static readonly ArrayPool<byte> s_pool = ArrayPool<byte>.Create(maxArrayLength: 256 * 1024, maxArraysPerBucket: 256);

    private byte[] _array;

    public PooledBuffer(int capacity) => _array = s_pool.Rent(Math.Max(capacity, 256));

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public void Append(ReadOnlySequence<byte> data)
    {
        long needed = Length + data.Length;
        if (needed > _array.Length)
        {
            var larger = s_pool.Rent((int)Math.Min(Math.Max(needed, _array.Length * 2L), Array.MaxLength));
            _array.AsSpan(0, Length).CopyTo(larger);
            s_pool.Return(_array);
            _array = larger;
        }
        data.CopyTo(_array.AsSpan(Length));
        Length = (int)needed;
    }

    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, []);
        if (array.Length > 0)
        {
            s_pool.Return(array);
        }
    }
}
