using System.Buffers;
using System.IO.Pipelines;

namespace Gateway.Core.Proxy;

/// <summary>
/// The whole request body, held where it is cheapest: still in the transport's pipe buffers (no copy at all) up to
/// <see cref="RequestBodyReader.HoldInPipeLimit"/>, else in one rented array. <see cref="Data"/> is valid until
/// <see cref="Release"/> (early, once nothing can read it again) or <see cref="Dispose"/>, which give the pipe
/// buffers back or return the array, once.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private readonly PipeReader? _pipe;
    private readonly PooledBuffer? _array;
    private bool _released;

    public RequestBody(PipeReader pipe, ReadOnlySequence<byte> data)
    {
        _pipe = pipe;
        Data = data;
    }

    public RequestBody(PooledBuffer array)
    {
        _array = array;
        Data = new ReadOnlySequence<byte>(array.Memory);
    }

    public ReadOnlySequence<byte> Data { get; }

    /// <summary>Gives the buffers back now: no attempt, retry or continuation will read <see cref="Data"/> again.</summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }
        _released = true;
        _pipe?.AdvanceTo(Data.End);
        _array?.Dispose();
    }

    // Only now may the transport reuse its buffers: every attempt has finished sending these bytes.
    public void Dispose() => Release();
}
