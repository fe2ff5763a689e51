using System.Buffers;
using Gateway.Core.Proxy;

namespace Gateway.Core.ResponseHooks;

/// <summary>
/// The tee's target: a copy of the body in one pooled array, grown by doubling up to the cap. Past the cap it only
/// counts and records the truncation: it never blocks or fails the client.
/// </summary>
internal sealed class CompletionBuffer : IBodyTee, IDisposable
{
    private readonly int _cap;
    private byte[] _buffer;
    private int _length;

    /// <param name="initialBytes">The first rent; it doubles from there (small answers never hold a large array).</param>
    public CompletionBuffer(long cap, int initialBytes = 4096)
    {
        _cap = (int)Math.Min(cap, Array.MaxLength);
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(initialBytes, _cap));
    }

    public long TotalBytes { get; private set; }

    public bool Truncated { get; private set; }

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void Append(ReadOnlySpan<byte> chunk)
    {
        TotalBytes += chunk.Length;
        int room = _cap - _length;
        if (chunk.Length > room)
        {
            Truncated = true;
            chunk = chunk[..room];
        }
        if (chunk.IsEmpty)
        {
            return;
        }
        if (_buffer.Length - _length < chunk.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max((long)_buffer.Length * 2, _length + chunk.Length), _cap));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        chunk.CopyTo(_buffer.AsSpan(_length));
        _length += chunk.Length;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _length = 0;
        }
    }
}

/// <summary>Two observers of the same chunks, in order (the stream scanner and the completion buffer).</summary>
internal sealed class TeePair(IBodyTee first, IBodyTee second) : IBodyTee
{
    public void Append(ReadOnlySpan<byte> chunk)
    {
        first.Append(chunk);
        second.Append(chunk);
    }
}
