using System.Buffers;
using System.Net;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers.Translation;

/// <summary>Why a request cannot be sent in a provider's format: the client's error, with the parameter it names.</summary>
internal sealed record TranslationRefusal(GatewayError Error, string Message, string? Param);

/// <summary>
/// One attempt's upstream body in a translating type's format (written once, into a pooled buffer), and what the
/// response's translation needs to know about the request: whether it streams, whether the client asked for usage,
/// the tool names to restore. Or, instead of a body, the refusal.
/// </summary>
internal sealed class TranslatedRequest : HttpContent
{
    private byte[]? _buffer;
    private readonly int _length;

    /// <param name="written">The translated body; its pooled array becomes this content's (returned when the request is disposed).</param>
    public TranslatedRequest(PooledBufferWriter written, RequestFacts facts)
    {
        Facts = facts;
        (_buffer, _length) = written.Detach();
    }

    private TranslatedRequest(TranslationRefusal refusal)
    {
        Refusal = refusal;
        Facts = RequestFacts.None;
    }

    public static TranslatedRequest Refuse(GatewayError error, string message, string? param = null) => new(new TranslationRefusal(error, message, param));

    public TranslationRefusal? Refusal { get; }

    public RequestFacts Facts { get; }

    /// <summary>The parameters left out because the provider cannot honour them (unsupported_params: drop), for the response header.</summary>
    public string? DroppedParameters => Facts.Dropped;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(_buffer.AsMemory(0, _length)).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer is { Length: > 0 })
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
        base.Dispose(disposing);
    }
}

/// <summary>What the response's translation needs from the request.</summary>
/// <param name="ClientAskedUsage">The client asked for the usage chunk (stream_options.include_usage). A translated stream always ends
/// with one (usage feeds tpm limits, metrics and the completion log); the relay removes it when the client did not ask.</param>
/// <param name="Dropped">Parameters left out (unsupported_params: drop), comma-separated; null when none.</param>
/// <param name="Created">The answer's <c>created</c> (Unix seconds), fixed when the request was translated.</param>
/// <param name="Embeddings">For /v1/embeddings: the model the answer names, and whether the client asked for base64.</param>
/// <param name="Native">The body is the client's own, in the provider's API (<see cref="NativeRequest"/>): the answer keeps the provider's bytes beside its translation.</param>
internal sealed record RequestFacts(bool ClientAskedUsage, string? Dropped, long Created, EmbeddingsFacts? Embeddings = null, bool Native = false)
{
    public static readonly RequestFacts None = new(false, null, 0);
}

/// <summary>What an embeddings answer's translation needs: the model to name, the encoding the client asked for.</summary>
internal sealed record EmbeddingsFacts(string Model, bool Base64);
