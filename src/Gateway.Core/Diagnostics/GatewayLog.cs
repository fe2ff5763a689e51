using Microsoft.Extensions.Logging;

namespace Gateway.Core.Diagnostics;

/// <summary>Source-generated log messages. Values are names and reasons only: never keys, URLs with queries, or bodies.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(1, LogLevel.Warning, "Request {RequestId}: provider {Provider} attempt {Attempt} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, string requestId, string provider, int attempt, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Request {RequestId}: provider {Provider} answered {Status}; trying the next target")]
    public static partial void FallingBack(ILogger logger, string requestId, string provider, int status);

    [LoggerMessage(3, LogLevel.Warning, "Request {RequestId}: provider {Provider} stream broke after {Bytes} bytes; response aborted")]
    public static partial void StreamInterrupted(ILogger logger, string requestId, string provider, long bytes);

    [LoggerMessage(4, LogLevel.Debug, "Request {RequestId}: client went away; upstream request to {Provider} cancelled")]
    public static partial void ClientGone(ILogger logger, string requestId, string provider);
}
