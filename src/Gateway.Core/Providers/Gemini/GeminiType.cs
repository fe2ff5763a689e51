using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.Core.Models;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Core.Routing;

namespace Gateway.Core.Providers.Gemini;

/// <summary>
/// <c>type: gemini</c>: Google's Gemini API (AI Studio) behind OpenAI's chat completions and embeddings. Chat goes to
/// <c>{base_url}/models/{model}:generateContent</c>, or <c>:streamGenerateContent?alt=sse</c> for a stream (always SSE,
/// never the incrementally streamed JSON array); embeddings to <c>:batchEmbedContents</c>. The key travels as
/// <c>x-goog-api-key</c>, never in a URL.
/// </summary>
internal sealed class GeminiType : IProviderType
{
    public static readonly GeminiType Instance = new();

    private GeminiType()
    {
    }

    public string Name => "gemini";

    public HttpContent CreateBody(RequestContext request, in RouteTarget target)
    {
        long created = request.Time.GetUtcNow().ToUnixTimeSeconds();
        var options = target.Provider.Config.Options;
        return request.Request.Path switch
        {
            "chat/completions" => GeminiRequest.Build(request.Body.Data, options, created),
            "embeddings" => GeminiEmbeddings.Build(request.Body.Data, ModelOf(target), options, created),
            var path => RequestTranslation.UnsupportedEndpoint(Name, path),
        };
    }

    /// <summary>The trailing assistant message becomes a final model turn, which Gemini continues.</summary>
    public HttpContent ContinuationBody(byte[] openAiBody, RequestContext request, in RouteTarget target) =>
        GeminiRequest.Build(new System.Buffers.ReadOnlySequence<byte>(openAiBody), target.Provider.Config.Options, request.Time.GetUtcNow().ToUnixTimeSeconds());

    public Uri UpstreamUri(RequestContext request, in RouteTarget target)
    {
        var method = request.Request.Path == "embeddings" ? ":batchEmbedContents"
            : request.Inspection.Stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
        return new Uri($"{target.Provider.RedactedBaseUrl}/models/{Uri.EscapeDataString(ModelOf(target))}{method}");
    }

    private static string ModelOf(in RouteTarget target) => target.QualifiedName[(target.Provider.Name.Length + 1)..];

    public void Authenticate(HttpRequestHeaders headers, ProviderEndpoint endpoint)
    {
        if (endpoint.Config.ApiKey is { } key)
        {
            headers.TryAddWithoutValidation("x-goog-api-key", key.Reveal());
        }
    }

    public bool TranslatesErrors => true;

    public UpstreamErrorInfo? ClassifyError(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time) =>
        GeminiErrors.Classify(response, body, time);

    public Stream ResponseBody(Stream upstream, bool eventStream, in RouteTarget target, TranslatedRequest? request)
    {
        var facts = request?.Facts ?? RequestFacts.None;
        ulong seed = (ulong)Random.Shared.NextInt64();
        if (eventStream)
        {
            return new TranslatingStream(upstream, new GeminiStream(includeUsage: true, facts.Created, seed));
        }
        return facts.Embeddings is { } embeddings
            ? new TranslatedBody(upstream, new GeminiEmbeddings.Answer(embeddings))
            : new TranslatedBody(upstream, new GeminiResponse(facts.Created, seed));
    }

    /// <summary>GET {base_url}/models?pageSize=1000 (and pageToken= for the next page), with x-goog-api-key.</summary>
    public HttpRequestMessage? ModelsRequest(ProviderEndpoint endpoint, string? page) =>
        OpenAi.OpenAiType.ListRequest(this, endpoint, new Uri(
            endpoint.RedactedBaseUrl + "/models?pageSize=1000" + (page is null ? "" : "&pageToken=" + Uri.EscapeDataString(page))));

    /// <summary>{"models":[{"name":"models/...","supportedGenerationMethods":[...]}],"nextPageToken"}: chat-capable models, named without "models/".</summary>
    public (List<DiscoveredModel>? Models, string? NextPage, string? Failure) ParseModels(JsonElement page)
    {
        if (page.ValueKind != JsonValueKind.Object || !page.TryGetProperty("models", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return (null, null, "sent a model list without a \"models\" array");
        }
        var models = new List<DiscoveredModel>();
        foreach (var model in list.EnumerateArray())
        {
            if (model.ValueKind != JsonValueKind.Object || !model.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !model.TryGetProperty("supportedGenerationMethods", out var methods) || methods.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            bool chat = false;
            foreach (var method in methods.EnumerateArray())
            {
                chat |= method.ValueKind == JsonValueKind.String && method.GetString() == "generateContent";
            }
            var id = name.GetString()!;
            id = id.StartsWith("models/", StringComparison.Ordinal) ? id["models/".Length..] : id;
            if (chat && ModelDiscovery.IsModelName(id))
            {
                models.Add(new DiscoveredModel(id, 0));
            }
        }
        string? next = page.TryGetProperty("nextPageToken", out var token) && token.ValueKind == JsonValueKind.String && token.GetString()!.Length > 0
            ? token.GetString() : null;
        return (models, next, null);
    }

    public IReadOnlyList<DiscoveredModel> ConfiguredModels(ProviderEndpoint endpoint) => [];
}
