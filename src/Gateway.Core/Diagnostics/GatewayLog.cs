using Microsoft.Extensions.Logging;

namespace Gateway.Core.Diagnostics;

/// <summary>Source-generated log messages. Values are names and reasons only: never keys, URLs with queries, or bodies.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(1, LogLevel.Warning, "Request {RequestId}: provider {Provider} attempt {Attempt} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, string requestId, string provider, int attempt, string reason);

    [LoggerMessage(2, LogLevel.Information, "Request {RequestId}: retrying provider {Provider} in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, string requestId, string provider, long delayMs);

    [LoggerMessage(3, LogLevel.Warning, "Request {RequestId}: provider {Provider} stream broke after {Bytes} bytes ({Reason}); response aborted")]
    public static partial void StreamInterrupted(ILogger logger, string requestId, string provider, long bytes, string reason);

    [LoggerMessage(4, LogLevel.Debug, "Request {RequestId}: client went away; upstream request to {Provider} cancelled")]
    public static partial void ClientGone(ILogger logger, string requestId, string provider);

    [LoggerMessage(5, LogLevel.Warning, "Provider {Provider}: circuit opened for {Cooldown} after consecutive failures")]
    public static partial void CircuitOpened(ILogger logger, string provider, string cooldown);

    [LoggerMessage(6, LogLevel.Warning, "Request {RequestId}: stream from {Provider} broke ({Reason}); continuing it on {Target}")]
    public static partial void StreamContinuing(ILogger logger, string requestId, string provider, string reason, string target);

    [LoggerMessage(7, LogLevel.Information, "{Target} refused to continue a prefill; not asked again for {Duration}")]
    public static partial void PrefillRefused(ILogger logger, string target, string duration);

    [LoggerMessage(8, LogLevel.Warning, "Shared state: Redis is not answering; each replica enforces its share of every limit (1/{Replicas}) until it does")]
    public static partial void SharedStateDown(ILogger logger, int replicas);

    [LoggerMessage(9, LogLevel.Information, "Shared state: Redis answers; limits, budgets and spend are shared again")]
    public static partial void SharedStateUp(ILogger logger);

    [LoggerMessage(10, LogLevel.Debug, "Shared state: the {Call} call failed ({Error})")]
    public static partial void SharedStateCallFailed(ILogger logger, string call, string error);
}
