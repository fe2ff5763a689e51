using System.Net;

namespace Gateway.Core.Proxy;

/// <summary>
/// The upstream request body: the client's bytes with only the model value replaced, written as three slices of
/// the pooled buffer (before the model, the upstream model name, after it). Nothing is re-serialized or copied.
/// </summary>
internal sealed class UpstreamBodyContent : HttpContent
{
    private readonly ReadOnlyMemory<byte> _prefix;
    private readonly ReadOnlyMemory<byte> _model;
    private readonly ReadOnlyMemory<byte> _suffix;

    public UpstreamBodyContent(ReadOnlyMemory<byte> prefix, ReadOnlyMemory<byte> model, ReadOnlyMemory<byte> suffix)
    {
        _prefix = prefix;
        _model = model;
        _suffix = suffix;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_prefix, cancellationToken);
        await stream.WriteAsync(_model, cancellationToken);
        await stream.WriteAsync(_suffix, cancellationToken);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        stream.Write(_prefix.Span);
        stream.Write(_model.Span);
        stream.Write(_suffix.Span);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _prefix.Length + _model.Length + _suffix.Length;
        return true;
    }
}
