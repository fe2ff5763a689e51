using Gateway.Core.Diagnostics;
using Gateway.Core.Models;
using Gateway.Core.Routing;

namespace Gateway.Core.Proxy;

/// <summary>
/// Step 3, route: the model value → a strategy, or a "provider/model" target. The model is unescaped and checked on
/// the stack, the prefix looked up in the snapshot's frozen table by span: nothing is allocated for a known route.
/// </summary>
internal static class RouteResolver
{
    /// <summary>Model name → targets. Runs synchronously so the model can be decoded on the stack.</summary>
    /// <param name="knownModels">When routing.require_known_model is on: "provider/model" must be listed here.</param>
    /// <returns>The strategy, or null with <paramref name="direct"/> set for a "provider/model" request.</returns>
    public static StrategyRoute? Resolve(
        RouteTable routes, ModelCatalog? knownModels, ModelCatalog catalog, RequestBody body, in RequestInspection inspection, ProxyRequest client,
        out RouteTarget direct, out GatewayError error, out string? detail)
    {
        direct = default;
        // Unescaping never lengthens the value; anything longer than the maximum is rejected by GetModel anyway.
        Span<byte> model = stackalloc byte[Math.Min(inspection.ModelValueLength, RequestInspector.MaxModelLength)];
        int length = RequestInspector.GetModel(body.Data, inspection, model);
        if (length <= 0)
        {
            error = length == 0 ? GatewayError.MissingModel : GatewayError.InvalidModelName;
            detail = length == 0
                ? "'model' must not be empty."
                : $"'model' must be at most {RequestInspector.MaxModelLength} characters of letters, digits and . _ : @ / + -";
            return null;
        }
        model = model[..length];
        Span<char> chars = stackalloc char[length];
        System.Text.Ascii.ToUtf16(model, chars, out _);
        ReadOnlySpan<char> name = chars;
        if (client.Exchange.RecordNames)
        {
            client.Exchange.RequestedModel = new string(name);
        }
        // An alias routes as what it stands for (and allow-lists apply to that), its model sent as the alias says.
        string? alias = null;
        ReadOnlyMemory<byte> aliasModel = default;
        if (name.IndexOf('/') < 0 && routes.TryGetAlias(name, out var aliasTarget, out aliasModel))
        {
            alias = aliasTarget;
            name = alias;
            length = name.Length;
        }
        if (client.Caller is { } caller && !caller.MayUse(name))
        {
            error = GatewayError.ModelNotAllowed;
            detail = $"The key '{caller.Name}' may not use the model '{name}'.";
            return null;
        }

        int slash = name.IndexOf('/');
        if (slash < 0)
        {
            if (routes.TryGetStrategy(name, out var strategy))
            {
                if (client.Exchange.RecordLabels)
                {
                    client.Exchange.ModelLabel = strategy.Name;
                }
                error = strategy.Targets.Count == 0 ? GatewayError.NoAvailableProvider : GatewayError.None;
                detail = strategy.Targets.Count == 0 ? $"No enabled provider can serve strategy '{strategy.Name}'." : null;
                return strategy;
            }
            error = GatewayError.ModelNotFound;
            detail = $"The model '{name}' does not exist: use \"provider/model\" (providers: {routes.ProviderNames}) or a strategy (strategies: {Describe(routes.StrategyNames)}).";
            return null;
        }

        var prefix = name[..slash];
        if (!routes.TryGetProvider(prefix, out var provider) || slash == length - 1)
        {
            error = GatewayError.ModelNotFound;
            detail = routes.TryGetDisabledReason(prefix, out var reason)
                ? $"The provider '{prefix}' is disabled ({reason}). Valid prefixes: {Describe(routes.ProviderNames)}."
                : slash == length - 1 && provider is not null
                    ? $"The model '{name}' names no model after the provider prefix."
                    : $"Unknown provider '{prefix}' in model '{name}'. Valid prefixes: {Describe(routes.ProviderNames)}.";
            return null;
        }

        // The upstream model is the rest after the first slash, sliced from the body in place (no copy) unless it
        // was written with escapes or straddles two buffer segments.
        ReadOnlyMemory<byte> upstreamModel;
        if (alias is not null)
        {
            upstreamModel = aliasModel;
        }
        else
        {
            var inPlace = body.Data.Slice(inspection.ModelValueStart + slash + 1, length - slash - 1);
            upstreamModel = !inspection.ModelIsEscaped && inPlace.IsSingleSegment ? inPlace.First : model[(slash + 1)..].ToArray();
        }
        var qualifiedName = string.Concat(provider.Name, "/", name[(slash + 1)..]);
        if (client.Exchange.RecordLabels)
        {
            // Clients can send any model name: only listed ones become label values.
            client.Exchange.ModelLabel = catalog.Contains(qualifiedName) ? qualifiedName : GatewayMetrics.OtherModel;
        }
        if (knownModels is not null && !knownModels.Contains(qualifiedName))
        {
            error = GatewayError.ModelNotFound;
            detail = $"The model '{qualifiedName}' is not in the model list (GET /v1/models), and routing.require_known_model is on.";
            return null;
        }
        error = GatewayError.None;
        detail = null;
        direct = new RouteTarget(provider, upstreamModel, qualifiedName);
        return null;
    }

    private static string Describe(string names) => names.Length == 0 ? "none" : names;
}
