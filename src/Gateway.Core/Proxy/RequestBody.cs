using System.Buffers;
using System.IO.Pipelines;

namespace Gateway.Core.Proxy;

/// <summary>
/// The whole request body, held where it is cheapest: still in the transport's pipe buffers (no copy at all) up to
/// <see cref="RequestBodyReader.HoldInPipeLimit"/>, else in one rented array. <see cref="Data"/> is valid until
/// <see cref="Dispose"/>, which releases the pipe buffers or returns the array; dispose exactly once.
/// </summary>
public sealed class RequestBody : IDisposable
{
    private readonly PipeReader? _pipe;
    private readonly PooledBuffer? _array;

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

    public void Dispose()
    {
        // Only now may the transport reuse its buffers: every attempt has finished sending these bytes.
        _pipe?.AdvanceTo(Data.End);
        _array?.Dispose();
    }
}
