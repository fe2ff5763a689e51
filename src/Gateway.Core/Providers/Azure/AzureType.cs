using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Models;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Core.Routing;

namespace Gateway.Core.Providers.Azure;

/// <summary>
/// <c>type: azure</c>: Azure OpenAI, which speaks OpenAI's format. The classic API is
/// <c>{base_url}/deployments/{deployment}/{path}?api-version=...</c>; the v1 API (base_url ending in <c>/openai/v1</c>,
/// no api_version) is <c>{base_url}/{path}</c> with the deployment as the body's model. Either way the body goes up
/// as the client sent it with only the model replaced by the deployment (zero-copy), with an <c>api-key</c> header;
/// the answer is copied with Azure's additions taken out (<see cref="AzureAnswers"/>).
/// </summary>
internal sealed class AzureType : IProviderType
{
    public static readonly AzureType Instance = new();

    private AzureType()
    {
    }

    public string Name => "azure";

    public HttpContent CreateBody(RequestContext request, in RouteTarget target)
    {
        var options = target.Provider.Config.Options;
        if (options.Deployments.Count == 0)
        {
            return OpenAi.OpenAiType.PassthroughBody(request, target.Model);
        }
        return OpenAi.OpenAiType.PassthroughBody(request, Encoding.UTF8.GetBytes(options.DeploymentFor(ModelOf(target))));
    }

    /// <summary>OpenAI's format with the deployment as the model.</summary>
    public HttpContent ContinuationBody(byte[] openAiBody, RequestContext request, in RouteTarget target)
    {
        var options = target.Provider.Config.Options;
        if (options.Deployments.Count == 0)
        {
            return new ByteArrayContent(openAiBody);
        }
        var output = new System.Buffers.ArrayBufferWriter<byte>(openAiBody.Length + 64);
        var deployment = Encoding.UTF8.GetBytes(options.DeploymentFor(ModelOf(target)));
        return JsonFilter.Copy(openAiBody, output, [], deployment) ? new ByteArrayContent(output.WrittenSpan.ToArray()) : new ByteArrayContent(openAiBody);
    }

    public Uri UpstreamUri(RequestContext request, in RouteTarget target)
    {
        var provider = target.Provider;
        var options = provider.Config.Options;
        if (options.ApiVersion is null)
        {
            return provider.UriFor(request.Request.Path, default);
        }
        var deployment = options.DeploymentFor(ModelOf(target));
        return new Uri($"{provider.RedactedBaseUrl}/deployments/{Uri.EscapeDataString(deployment)}/{request.Request.Path}?api-version={Uri.EscapeDataString(options.ApiVersion)}");
    }

    private static string ModelOf(in RouteTarget target) => target.QualifiedName[(target.Provider.Name.Length + 1)..];

    public void Authenticate(HttpRequestHeaders headers, ProviderEndpoint endpoint)
    {
        if (endpoint.Config.ApiKey is { } key)
        {
            headers.TryAddWithoutValidation("api-key", key.Reveal());
        }
    }

    public bool TranslatesErrors => true;

    public UpstreamErrorInfo? ClassifyError(HttpResponseMessage response, ReadOnlySpan<byte> body, TimeProvider time) => AzureErrors.Classify(response, body, time);

    public Stream ResponseBody(Stream upstream, bool eventStream, in RouteTarget target, TranslatedRequest? request)
    {
        var model = Encoding.UTF8.GetBytes(ModelOf(target));
        bool keep = target.Provider.Config.Options.AzureFilterResults;
        return eventStream
            ? new TranslatingStream(upstream, new AzureAnswers.Stream(model, keep))
            : new TranslatedBody(upstream, new AzureAnswers.Body(model, keep));
    }

    /// <summary>Azure has no list of deployments behind an api-key: the list is the configured deployments' models.</summary>
    public HttpRequestMessage? ModelsRequest(ProviderEndpoint endpoint, string? page) => null;

    public (List<DiscoveredModel>? Models, string? NextPage, string? Failure) ParseModels(JsonElement page) => (null, null, "no model list");

    public IReadOnlyList<DiscoveredModel> ConfiguredModels(ProviderEndpoint endpoint)
    {
        var models = new List<DiscoveredModel>();
        foreach (var (model, _) in endpoint.Config.Options.Deployments)
        {
            models.Add(new DiscoveredModel(model, 0));
        }
        return models;
    }
}
