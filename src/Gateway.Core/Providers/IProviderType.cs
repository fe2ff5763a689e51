using System.Net.Http.Headers;
using Gateway.Core.Config;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Core.Routing;

namespace Gateway.Core.Providers;

/// <summary>
/// What differs between providers' wire formats, behind one seam: a provider's <c>type</c> maps to one instance
/// (<see cref="ProviderTypes"/>), stateless and shared; whatever one request or stream needs to remember lives in
/// what it creates (<see cref="TranslatedRequest"/>, a <see cref="StreamTranslator"/>). The request path asks it and
/// never which type it is talking to. The contract, step by step, is in docs/design.md ("The provider seam").
/// </summary>
internal interface IProviderType
{
    /// <summary>The config's <c>type</c> value.</summary>
    string Name { get; }

    /// <summary>
    /// Step 4: the upstream body of one attempt. For a passthrough type it is the client's bytes with only the model
    /// value replaced, written straight from the buffers they arrived in; a translating type writes its own format
    /// into a <see cref="TranslatedRequest"/>, which may instead carry a refusal (an endpoint or a parameter the
    /// provider cannot serve: the client's error, no upstream call).
    /// </summary>
    HttpContent CreateBody(RequestContext request, in RouteTarget target);

    /// <summary>
    /// Step 8 (on_interrupt: continue): a continuation's body — given as OpenAI's request with the text delivered so far
    /// as a trailing assistant message — in this type's format.
    /// </summary>
    HttpContent ContinuationBody(byte[] openAiBody, RequestContext request, in RouteTarget target);

    /// <summary>Step 4: where the attempt goes.</summary>
    Uri UpstreamUri(RequestContext request, in RouteTarget target);

    /// <summary>Step 4: the provider's credentials (and version headers) on the upstream request, never the client's.</summary>
    void Authenticate(HttpRequestHeaders headers, ProviderEndpoint endpoint);

    /// <summary>
    /// Steps 5–6: whether error answers are classified by <see cref="ClassifyError"/> (and answered in our envelope)
    /// instead of by status class and passed on as the provider sent them.
    /// </summary>
    bool TranslatesErrors { get; }

    /// <summary>Steps 5–6: what an error answer (4xx/5xx, read whole and masked) means in the chain's terms and in the client's.</summary>
    UpstreamErrorInfo? ClassifyError(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time);

    /// <summary>
    /// Steps 5–7: the body the rest of the path reads, from the provider's success body: the same stream for a
    /// passthrough type (zero-copy), an OpenAI-shaped one for a translating type. Everything after it (the first-event
    /// check, the copy loop, usage, the completion log, transforms) sees OpenAI's format either way.
    /// </summary>
    Stream ResponseBody(Stream upstream, bool eventStream, in RouteTarget target, TranslatedRequest? request);

    /// <summary>The model list: the request for one page (<paramref name="page"/>: the previous page's token), or null when the type lists what its config names.</summary>
    HttpRequestMessage? ModelsRequest(ProviderEndpoint endpoint, string? page);

    /// <summary>One page of the model list: the models (null: unusable, with why) and the next page's token (null: the last page).</summary>
    (List<Models.DiscoveredModel>? Models, string? NextPage, string? Failure) ParseModels(System.Text.Json.JsonElement page);

    /// <summary>The models a type that makes no list request names from its config.</summary>
    IReadOnlyList<Models.DiscoveredModel> ConfiguredModels(ProviderEndpoint endpoint);
}

/// <summary>An error answer, classified: what the chain does with it and what the client would get.</summary>
/// <param name="Class">The failure class for <c>fallback_on</c> (None: the answer stands, unless <paramref name="Code"/> is listed).</param>
/// <param name="Code">An OpenAI-style code <c>fallback_on</c> may list (context_length_exceeded, content_filter).</param>
/// <param name="Message">For the client: the provider's message (masked) or our own words.</param>
internal readonly record struct UpstreamErrorInfo(
    GatewayError Error, FailureClasses Class, bool Retryable, TimeSpan? RetryAfter, string? Code, string Message, string Reason);

/// <summary>The provider types the config may name, by <c>type</c>.</summary>
internal static class ProviderTypes
{
    private static readonly IProviderType[] s_all = [OpenAi.OpenAiType.Instance, Anthropic.AnthropicType.Instance, Gemini.GeminiType.Instance, Azure.AzureType.Instance];

    /// <summary>The supported <c>type</c> values, for config errors ("supported: openai").</summary>
    public static string Supported => string.Join(", ", Array.ConvertAll(s_all, t => t.Name));

    public static IProviderType? Find(string name) => Array.Find(s_all, t => t.Name == name);
}
