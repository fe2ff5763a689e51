using Gateway.Core.Providers;
using Gateway.Core.Proxy;
using Gateway.Server.Handlers;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Server.Dispatch;

/// <summary>
/// HTTP method and path → handler. A switch, not endpoint routing: the gateway serves a handful of paths and every
/// microsecond on the way to the proxy counts. ("Route" in this codebase means model → provider; this is dispatch.)
/// </summary>
internal sealed class Dispatcher
{
    private const string ApiPrefix = "/v1/";
    private const string ModelsPath = "/v1/models";

    private readonly ProxyHandler _proxy;
    private readonly MessagesHandler _messages;
    private readonly HealthHandler _health;
    private readonly ModelsHandler _models;
    private readonly AdminHandler _admin;

    public Dispatcher(ProxyHandler proxy, MessagesHandler messages, HealthHandler health, ModelsHandler models, AdminHandler admin)
    {
        _proxy = proxy;
        _messages = messages;
        _health = health;
        _models = models;
        _admin = admin;
    }

    public Task DispatchAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var method = context.Request.Method;
        if (IsRead(method) && path.StartsWith(ModelsPath, StringComparison.Ordinal))
        {
            if (path.Length == ModelsPath.Length)
            {
                return _models.ListAsync(context);
            }
            if (path[ModelsPath.Length] == '/' && path.Length > ModelsPath.Length + 1)
            {
                return _models.GetAsync(context, path[(ModelsPath.Length + 1)..]);
            }
        }
        if (HttpMethods.IsPost(method) && path == "/v1/messages")
        {
            return _messages.HandleAsync(context);
        }
        if (HttpMethods.IsPost(method) && path == "/v1/messages/count_tokens")
        {
            return MessagesHandler.CountTokensAsync(context);
        }
        if (path.StartsWith(ApiPrefix, StringComparison.Ordinal) && path.Length > ApiPrefix.Length)
        {
            if (!IsForwardable(context, path))
            {
                return OpenAiErrorWriter.WriteAsync(context, GatewayError.UnknownUrl, UnsafePathMessage);
            }
            return HttpMethods.IsPost(method)
                ? _proxy.HandleAsync(context, path[ApiPrefix.Length..])
                : OpenAiErrorWriter.WriteAsync(context, GatewayError.MethodNotAllowed, $"Method {Sanitize(method)} is not allowed here; the OpenAI API endpoints take POST.");
        }
        return path switch
        {
            "/healthz" when IsRead(method) => HealthHandler.LivenessAsync(context),
            "/readyz" when IsRead(method) => _health.ReadinessAsync(context),
            "/healthz" or "/readyz" => OpenAiErrorWriter.WriteAsync(context, GatewayError.MethodNotAllowed, "Health endpoints take GET."),
            "/admin/reload" when HttpMethods.IsPost(method) => _admin.ReloadAsync(context),
            "/admin/config" when IsRead(method) => AdminHandler.ConfigAsync(context),
            "/admin/spend" when IsRead(method) => AdminHandler.SpendAsync(context),
            _ => OpenAiErrorWriter.WriteAsync(context, GatewayError.UnknownUrl, "Unknown URL. The gateway serves the OpenAI API under /v1/."),
        };
    }

    private const string UnsafePathMessage =
        "Unknown URL. Paths under /v1/ are segments of letters, digits, '.', '_' and '-' (no escapes, no empty or dot segments).";

    /// <summary>
    /// The path below /v1/ becomes part of the provider's URI, so it must be plain segments both as the client sent
    /// it (the raw target: Kestrel decodes %5C to '\' and %25 to '%', and removes dot segments) and as decoded.
    /// </summary>
    private static bool IsForwardable(HttpContext context, string path)
    {
        if (!UpstreamUri.IsSafePath(path.AsSpan(ApiPrefix.Length)))
        {
            return false;
        }
        var raw = UpstreamUri.PathOfTarget(context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "");
        return raw.StartsWith(ApiPrefix, StringComparison.Ordinal) && raw[ApiPrefix.Length..].SequenceEqual(path.AsSpan(ApiPrefix.Length));
    }

    private static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    private static string Sanitize(string method) => method.Length <= 16 && method.All(char.IsAsciiLetter) ? method : "(invalid)";
}
