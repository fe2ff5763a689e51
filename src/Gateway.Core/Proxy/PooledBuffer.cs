using System.Buffers;

namespace Gateway.Core.Proxy;

/// <summary>
/// A request body held in one rented array: only bodies too large to stay in the transport's pipe come here
/// (see <see cref="RequestBodyReader.HoldInPipeLimit"/>). The bytes are valid until <see cref="Dispose"/>.
/// </summary>
internal sealed class PooledBuffer : IDisposable
{
    private byte[] _array;

    public PooledBuffer(int capacity) => _array = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public void Append(ReadOnlySequence<byte> data)
    {
        long needed = Length + data.Length;
        if (needed > _array.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(needed, _array.Length * 2L), Array.MaxLength));
            _array.AsSpan(0, Length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_array);
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
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
