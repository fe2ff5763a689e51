using System.Buffers;
using System.Net;

namespace Gateway.Core.Proxy;

/// <summary>
/// The upstream request body: the client's bytes with only the model value replaced, written as slices — before
/// the model, the upstream model name, after it — straight from the buffers that hold the request body. Nothing is
/// re-serialized or copied. Optionally one property is inserted right after the opening brace (usage.include_in_streams).
/// </summary>
internal sealed class UpstreamBodyContent : HttpContent
{
    private readonly ReadOnlySequence<byte> _head;
    private readonly ReadOnlyMemory<byte> _inserted;
    private readonly ReadOnlySequence<byte> _prefix;
    private readonly ReadOnlyMemory<byte> _model;
    private readonly ReadOnlySequence<byte> _suffix;

    public UpstreamBodyContent(ReadOnlySequence<byte> prefix, ReadOnlyMemory<byte> model, ReadOnlySequence<byte> suffix)
        : this(default, default, prefix, model, suffix)
    {
    }

    /// <param name="head">The body up to and including its opening brace.</param>
    /// <param name="inserted">A property (with its trailing comma) placed after the brace.</param>
    public UpstreamBodyContent(ReadOnlySequence<byte> head, ReadOnlyMemory<byte> inserted, ReadOnlySequence<byte> prefix, ReadOnlyMemory<byte> model, ReadOnlySequence<byte> suffix)
    {
        _head = head;
        _inserted = inserted;
        _prefix = prefix;
        _model = model;
        _suffix = suffix;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!_inserted.IsEmpty)
        {
            await WriteAsync(stream, _head, cancellationToken);
            await stream.WriteAsync(_inserted, cancellationToken);
        }
        await WriteAsync(stream, _prefix, cancellationToken);
        await stream.WriteAsync(_model, cancellationToken);
        await WriteAsync(stream, _suffix, cancellationToken);
        Sent = true;
    }

    /// <summary>Every byte was handed to the connection: the buffers it was read from are no longer needed.</summary>
    public bool Sent { get; private set; }

    // A body that arrived in many small segments is gathered into large writes: one send per 64 KiB instead of
    // one per segment. (64 KiB stays below the large-object heap and in ArrayPool.Shared's per-core cache.)
    private static async ValueTask WriteAsync(Stream stream, ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        if (data.IsSingleSegment)
        {
            await stream.WriteAsync(data.First, cancellationToken);
            return;
        }
        var gather = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (!data.IsEmpty)
            {
                int n = (int)Math.Min(data.Length, gather.Length);
                data.Slice(0, n).CopyTo(gather);
                await stream.WriteAsync(gather.AsMemory(0, n), cancellationToken);
                data = data.Slice(n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(gather);
        }
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        foreach (var segment in _head)
        {
            stream.Write(segment.Span);
        }
        stream.Write(_inserted.Span);
        foreach (var segment in _prefix)
        {
            stream.Write(segment.Span);
        }
        stream.Write(_model.Span);
        foreach (var segment in _suffix)
        {
            stream.Write(segment.Span);
        }
        Sent = true;
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _head.Length + _inserted.Length + _prefix.Length + _model.Length + _suffix.Length;
        return true;
    }
}
