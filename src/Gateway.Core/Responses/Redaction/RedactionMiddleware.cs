using Gateway.Core.Access;
using Gateway.Core.Config;

namespace Gateway.Core.Responses.Redaction;

/// <summary>
/// redact: registers a <see cref="RedactionTransform"/> on every response for a requested model that matches
/// redact.models (all when absent). Only those responses leave the zero-copy loop.
/// </summary>
public sealed class RedactionMiddleware : IResponseMiddleware
{
    private readonly Func<RedactConfig?> _config;

    /// <param name="config">Read per response, so a reload applies to the next response.</param>
    public RedactionMiddleware(Func<RedactConfig?> config) => _config = config;

    public ResponseHook OnResponse(ResponseStart response)
    {
        if (_config() is not { } config || response.Status is < 200 or >= 300 || !ModelGlob.AnyMatches(config.Models, response.RequestedModel ?? ""))
        {
            return default;
        }
        return new ResponseHook(Transform: new RedactionTransform(config));
    }
}
