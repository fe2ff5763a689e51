using System.Buffers;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// A request that arrived in a provider type's own API (Anthropic's Messages at <c>/v1/messages</c>), kept as its
/// client sent it beside the OpenAI pivot the path forwards. An attempt on a provider of that API sends it with only
/// the model rewritten (and the client's beta flags): nothing the pivot cannot say is lost, and nothing is translated
/// twice. The answer is still read through the type's translation, so usage, limits, logs and the commit point work
/// as for any answer, while the provider's own bytes are kept beside it; when that attempt commits and nothing
/// rewrites the answer (a transform, a continuation), the client gets those bytes (<see cref="Committed"/>).
/// </summary>
internal sealed class NativeRequest
{
    private readonly ReadOnlySequence<byte> _body;

    /// <param name="api">The provider type whose API the request is in ("anthropic").</param>
    /// <param name="body">The client's body: valid until the request ends (the entry point holds it).</param>
    /// <param name="beta">The client's beta flags (anthropic-beta), for a provider of its API only.</param>
    public NativeRequest(string api, ReadOnlySequence<byte> body, string? beta)
    {
        Api = api;
        _body = body;
        Beta = beta;
    }

    public string Api { get; }

    public string? Beta { get; }

    /// <summary>The answer that goes to the client as the provider sent it; null: the translated one does.</summary>
    public IRawAnswer? Committed { get; private set; }

    /// <summary>One attempt's upstream body: the client's, with the top-level model replaced.</summary>
    public TranslatedRequest Body(ReadOnlySpan<byte> model, long created)
    {
        var output = new PooledBufferWriter((int)_body.Length + model.Length + 16);
        bool copied;
        if (_body.IsSingleSegment)
        {
            copied = JsonFilter.Copy(_body.FirstSpan, output, [], model);
        }
        else
        {
            var whole = ArrayPool<byte>.Shared.Rent((int)_body.Length);
            _body.CopyTo(whole);
            copied = JsonFilter.Copy(whole.AsSpan(0, (int)_body.Length), output, [], model);
            ArrayPool<byte>.Shared.Return(whole);
        }
        if (!copied)
        {
            // The entry point parsed it already; a body it accepted and this copy cannot read is not sent at all.
            output.Dispose();
            return TranslatedRequest.Refuse(Proxy.GatewayError.InvalidJson, "The request body is not valid JSON.");
        }
        return new TranslatedRequest(output, new RequestFacts(ClientAskedUsage: true, Dropped: null, created, Native: true));
    }

    /// <summary>At the commit point: the committed attempt's raw answer goes out, unless the pivot must (<paramref name="passRaw"/> false).</summary>
    public void Commit(Stream? body, bool passRaw) => Committed = !passRaw ? null : body switch
    {
        TranslatingStream stream => stream.Raw,
        TranslatedBody whole => whole.Raw,
        _ => null,
    };
}

/// <summary>A provider's answer as it sent it, handed out in whole events (a stream) or whole (an answer).</summary>
internal interface IRawAnswer
{
    /// <summary>Writes what is ready and not yet handed out; safe beside the reads that fill it.</summary>
    void DrainTo(IBufferWriter<byte> output);
}
