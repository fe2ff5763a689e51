using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.Core.Models;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Core.Routing;

namespace Gateway.Core.Providers.OpenAi;

/// <summary>
/// <c>type: openai</c>, any OpenAI-compatible API: the client's format is the provider's, so the body goes up with only
/// the model value replaced (three slices of the buffers it arrived in) and comes back byte for byte through the
/// zero-copy loop. Authentication is <c>Authorization: Bearer</c>.
/// </summary>
internal sealed class OpenAiType : IProviderType
{
    public static readonly OpenAiType Instance = new();

    private static readonly byte[] s_includeUsage = "\"stream_options\":{\"include_usage\":true},"u8.ToArray();

    private OpenAiType()
    {
    }

    public string Name => "openai";

    public HttpContent CreateBody(RequestContext request, in RouteTarget target) => PassthroughBody(request, target.Model);

    /// <summary>The client's bytes with only the model value replaced by <paramref name="model"/>, as slices of the buffers they arrived in.</summary>
    internal static HttpContent PassthroughBody(RequestContext request, ReadOnlyMemory<byte> model)
    {
        var inspection = request.Inspection;
        var data = request.Body.Data;
        var suffix = data.Slice(inspection.ModelValueStart + inspection.ModelValueLength);
        if (!request.Exchange.InjectedStreamUsage)
        {
            return new UpstreamBodyContent(data.Slice(0, inspection.ModelValueStart), model, suffix);
        }
        // usage.include_in_streams: one property after the opening brace; every other byte stays as sent.
        long afterBrace = inspection.ObjectStart + 1;
        return new UpstreamBodyContent(
            data.Slice(0, afterBrace), s_includeUsage, data.Slice(afterBrace, inspection.ModelValueStart - afterBrace), model, suffix);
    }

    public HttpContent ContinuationBody(byte[] openAiBody, RequestContext request, in RouteTarget target) => new ByteArrayContent(openAiBody);

    public Uri UpstreamUri(RequestContext request, in RouteTarget target) => target.Provider.UriFor(request.Request.Path, request.Request.Query);

    public void Authenticate(HttpRequestHeaders headers, ProviderEndpoint endpoint)
    {
        if (endpoint.AuthorizationHeader is { } authorization)
        {
            headers.TryAddWithoutValidation("Authorization", authorization);
        }
    }

    public bool TranslatesErrors => false;

    public UpstreamErrorInfo? ClassifyError(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time) => null;

    public Stream ResponseBody(Stream upstream, bool eventStream, in RouteTarget target, TranslatedRequest? request) => upstream;

    public HttpRequestMessage? ModelsRequest(ProviderEndpoint endpoint, string? page) => ListRequest(this, endpoint, endpoint.UriFor("models", default));

    public (List<DiscoveredModel>? Models, string? NextPage, string? Failure) ParseModels(JsonElement page)
    {
        var (models, failure) = ModelDiscovery.ParseOpenAiList(page);
        return (models, null, failure);
    }

    public IReadOnlyList<DiscoveredModel> ConfiguredModels(ProviderEndpoint endpoint) => [];

    /// <summary>GET <paramref name="uri"/> with the type's credentials.</summary>
    internal static HttpRequestMessage ListRequest(IProviderType type, ProviderEndpoint endpoint, Uri uri)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        type.Authenticate(request.Headers, endpoint);
        return request;
    }
}
