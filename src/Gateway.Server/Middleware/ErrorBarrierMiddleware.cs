using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// The last resort for gateway bugs: logs the exception once, answers 500 in OpenAI's shape if nothing was sent,
/// else lets Kestrel end the response abnormally. Expected outcomes never get here: they are values, not exceptions.
/// </summary>
internal static partial class ErrorBarrierMiddleware
{
    public static Func<RequestDelegate, RequestDelegate> Create(ILogger logger) => next => async context =>
    {
        try
        {
            await next(context);
        }
        catch (ResponseAbortedException)
        {
            throw;
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            UnhandledError(logger, context.TraceIdentifier, e);
            if (context.Response.HasStarted)
            {
                throw new ResponseAbortedException("The response was ended abnormally after a gateway error.", e);
            }
            await OpenAiErrorWriter.WriteAsync(context, GatewayError.Internal, "The gateway failed to process the request.");
        }
    };

    [LoggerMessage(901, LogLevel.Error, "Request {RequestId}: unhandled gateway error")]
    private static partial void UnhandledError(ILogger logger, string requestId, Exception exception);
}
