using Gateway.Core.Access;
using Gateway.Core.Config;

namespace Gateway.Core.ResponseHooks.Redaction;

/// <summary>
/// redact: registers a <see cref="RedactionTransform"/> on every response for a requested model that matches
/// redact.models (all when absent). Only those responses leave the zero-copy loop.
/// </summary>
internal sealed class RedactionHook : IResponseHook
{
    private readonly RedactConfig _config;

    public RedactionHook(RedactConfig config) => _config = config;

    public ResponseHook OnResponse(ResponseStart response)
    {
        if (response.Status is < 200 or >= 300 || !ModelGlob.AnyMatches(_config.Models, response.RequestedModel ?? ""))
        {
            return default;
        }
        return new ResponseHook(Transform: new RedactionTransform(_config));
    }
}
