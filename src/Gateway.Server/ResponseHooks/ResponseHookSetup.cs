using Gateway.Core.Config;
using Gateway.Core.ResponseHooks;
using Gateway.Core.ResponseHooks.CompletionLog;
using Gateway.Core.ResponseHooks.Redaction;
using Gateway.Server.Middleware;

namespace Gateway.Server.ResponseHooks;

/// <summary>The response hooks (Core's response middleware) a config revision asks for, and the completion log's sink.</summary>
internal static class ResponseHookSetup
{
    /// <summary>
    /// The hooks of one config revision, in the order their completion callbacks run. Only what the config asks for
    /// is registered: with none, a response costs nothing in this layer.
    /// </summary>
    public static List<IResponseHook> For(
        GatewayConfig config, KeyLimiters limiters, SharedRateLimit? shared, CompletionLogWriter? completionLog, TimeProvider time, IReadOnlyList<IResponseHook> extra)
    {
        var hooks = new List<IResponseHook>();
        if (config.Auth?.Keys.Any(k => k.Tpm is not null) == true)
        {
            hooks.Add(new TokenChargeHook(limiters, shared));
        }
        if (completionLog is not null && config.CompletionLog is { } settings)
        {
            hooks.Add(new CompletionLogHook(completionLog, settings, time));
        }
        if (config.Redact is { } redact)
        {
            hooks.Add(new RedactionHook(redact));
        }
        hooks.AddRange(extra);
        return hooks;
    }

    public static ICompletionSink CreateSink(CompletionLogConfig config, TimeProvider time) => config.Sink switch
    {
        CompletionSink.Elasticsearch => new BulkSink(config.Elasticsearch!, time),
        _ => new FileSink(config.Path, config.MaxFileBytes),
    };
}
