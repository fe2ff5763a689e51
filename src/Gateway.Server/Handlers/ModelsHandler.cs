using Gateway.Core.Models;
using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Handlers;

/// <summary>GET /v1/models and GET /v1/models/{id}: bytes of the current catalog, serialized when it was built.</summary>
internal sealed class ModelsHandler
{
    private readonly ModelCatalogHolder _catalog;

    public ModelsHandler(ModelCatalogHolder catalog) => _catalog = catalog;

    /// <summary>The whole list, or only the models the caller's key may use.</summary>
    public Task ListAsync(HttpContext context) =>
        WriteAsync(context, GatewayRequest.Of(context).Caller is { Config.Models: not null } caller
            ? _catalog.Current.ListJsonFor(caller)
            : _catalog.Current.ListJson);

    /// <param name="id">Everything after /v1/models/; it may contain slashes ("openrouter/meta-llama/llama-3-70b").</param>
    public Task GetAsync(HttpContext context, string id)
    {
        var caller = GatewayRequest.Of(context).Caller;
        if (_catalog.Current.TryGetEntry(id, out var json) && (caller is null || caller.MayUse(id)))
        {
            return WriteAsync(context, json);
        }
        var shown = id.Length <= 256 && id.All(c => char.IsAsciiLetterOrDigit(c) || "._:@/+-".Contains(c, StringComparison.Ordinal)) ? $"'{id}'" : "requested";
        return OpenAiErrorWriter.WriteAsync(context, GatewayError.ModelNotFound, $"The model {shown} does not exist. GET /v1/models lists the models.");
    }

    private static Task WriteAsync(HttpContext context, byte[] json)
    {
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = json.Length;
        return context.Response.Body.WriteAsync(json, context.RequestAborted).AsTask();
    }
}
