using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.Core.Models;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Core.Routing;

namespace Gateway.Core.Providers.Anthropic;

/// <summary>
/// <c>type: anthropic</c>: Anthropic's Messages API behind OpenAI's chat completions. The request is translated once
/// per attempt (<see cref="AnthropicRequest"/>) and sent to <c>{base_url}/messages</c> with <c>x-api-key</c> and
/// <c>anthropic-version</c>; the answer comes back translated, a stream event by event (<see cref="AnthropicStream"/>),
/// a whole message at once (<see cref="AnthropicMessage"/>); errors are classified on status and body
/// (<see cref="AnthropicErrors"/>). Other endpoints are refused without an upstream call.
/// </summary>
internal sealed class AnthropicType : IProviderType
{
    public static readonly AnthropicType Instance = new();

    private AnthropicType()
    {
    }

    public string Name => "anthropic";

    public HttpContent CreateBody(RequestContext request, in RouteTarget target)
    {
        if (request.Request.Path != "chat/completions")
        {
            return RequestTranslation.UnsupportedEndpoint(Name, request.Request.Path);
        }
        if (request.Request.Native is { Api: "anthropic" } native)
        {
            // A Messages client's request, in this API already: sent as it came, with the model rewritten.
            return native.Body(target.Model.Span, request.Time.GetUtcNow().ToUnixTimeSeconds());
        }
        return AnthropicRequest.Build(
            request.Body.Data, target.Model.Span, target.Provider.Config.Options, request.Time.GetUtcNow().ToUnixTimeSeconds());
    }

    /// <summary>The trailing assistant message becomes Anthropic's prefill, which the model continues.</summary>
    public HttpContent ContinuationBody(byte[] openAiBody, RequestContext request, in RouteTarget target) =>
        AnthropicRequest.Build(new System.Buffers.ReadOnlySequence<byte>(openAiBody), target.Model.Span, target.Provider.Config.Options,
            request.Time.GetUtcNow().ToUnixTimeSeconds());

    public Uri UpstreamUri(RequestContext request, in RouteTarget target) => target.Provider.UriFor("messages", default);

    public void Authenticate(HttpRequestHeaders headers, ProviderEndpoint endpoint)
    {
        var config = endpoint.Config;
        if (config.ApiKey is { } key)
        {
            headers.TryAddWithoutValidation("x-api-key", key.Reveal());
        }
        headers.TryAddWithoutValidation("anthropic-version", config.Options.AnthropicVersion);
        if (config.Options.Beta.Count > 0)
        {
            headers.TryAddWithoutValidation("anthropic-beta", string.Join(",", config.Options.Beta));
        }
    }

    public bool TranslatesErrors => true;

    public UpstreamErrorInfo? ClassifyError(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time) =>
        AnthropicErrors.Classify(response, body, time);

    public Stream ResponseBody(Stream upstream, bool eventStream, in RouteTarget target, TranslatedRequest? request)
    {
        var facts = request?.Facts ?? RequestFacts.None;
        return eventStream
            ? new TranslatingStream(upstream, new AnthropicStream(includeUsage: true, facts.Created), facts.Native)
            : new TranslatedBody(upstream, new AnthropicMessage(facts.Created), facts.Native);
    }

    /// <summary>GET {base_url}/models?limit=1000 (and after_id= for the next page), with x-api-key.</summary>
    public HttpRequestMessage? ModelsRequest(ProviderEndpoint endpoint, string? page) =>
        OpenAi.OpenAiType.ListRequest(this, endpoint, new Uri(
            endpoint.RedactedBaseUrl + "/models?limit=1000" + (page is null ? "" : "&after_id=" + Uri.EscapeDataString(page))));

    /// <summary>{"data":[{"id","created_at"}],"has_more","last_id"}.</summary>
    public (List<DiscoveredModel>? Models, string? NextPage, string? Failure) ParseModels(JsonElement page)
    {
        var (models, failure) = ModelDiscovery.ParseOpenAiList(page);
        string? next = page.ValueKind == JsonValueKind.Object && page.TryGetProperty("has_more", out var more) && more.ValueKind == JsonValueKind.True
            && page.TryGetProperty("last_id", out var last) && last.ValueKind == JsonValueKind.String ? last.GetString() : null;
        return (models, next, failure);
    }

    public IReadOnlyList<DiscoveredModel> ConfiguredModels(ProviderEndpoint endpoint) => [];
}
