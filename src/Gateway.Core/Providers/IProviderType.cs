using System.Net.Http.Headers;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers;

/// <summary>
/// What differs between providers' wire formats, behind one seam: a provider's <c>type</c> maps to one instance
/// (<see cref="ProviderTypes"/>), stateless and shared; whatever a stream needs to remember lives in what it creates.
/// The request path asks it and never which type it is talking to. The contract, step by step, is in docs/design.md
/// ("The provider seam"); the relay member a translating type needs (step 7) is added with the first such type.
/// </summary>
internal interface IProviderType
{
    /// <summary>The config's <c>type</c> value.</summary>
    string Name { get; }

    /// <summary>
    /// Step 4: the upstream body of one attempt. For a passthrough type it is the client's bytes with only the model
    /// value replaced, written straight from the buffers they arrived in; a translating type writes its own format.
    /// </summary>
    HttpContent CreateBody(RequestBody body, in RequestInspection inspection, ReadOnlyMemory<byte> upstreamModel, bool injectStreamUsage);

    /// <summary>Step 4: the provider's credentials on the upstream request (never the client's).</summary>
    void Authenticate(HttpRequestHeaders headers, ProviderEndpoint endpoint);

    /// <summary>
    /// Step 5: what the buffered beginning of an event stream is — more is needed, the first content (the commit
    /// point), or an error sent as the first event (a failure that may still fall back).
    /// </summary>
    FirstEventKind InspectFirstEvent(ReadOnlySpan<byte> buffered);

}

/// <summary>The provider types the config may name, by <c>type</c>.</summary>
internal static class ProviderTypes
{
    private static readonly IProviderType[] s_all = [OpenAi.OpenAiType.Instance];

    /// <summary>The supported <c>type</c> values, for config errors ("supported: openai").</summary>
    public static string Supported => string.Join(", ", Array.ConvertAll(s_all, t => t.Name));

    public static IProviderType? Find(string name) => Array.Find(s_all, t => t.Name == name);
}
