using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Server.Http;

/// <summary>
/// Ends a response that already started so that no client can take it for complete, after everything written
/// (the in-band error event included) has been delivered.
/// </summary>
internal static class AbnormalEnd
{
    // An HTTP/2 client discards data it has not read yet when the stream is reset: leave it a moment to read the
    // error event first. Only failed streams wait; loopback clients need microseconds, remote ones a round trip.
    private static readonly TimeSpan s_resetGrace = TimeSpan.FromMilliseconds(200);

    public static async Task CompleteAsync(HttpContext context, TimeProvider time)
    {
        if (context.Features.Get<IHttpResetFeature>() is { } reset)
        {
            // HTTP/2 and HTTP/3: reset the stream (INTERNAL_ERROR); the connection and its other streams live on.
            try
            {
                await Task.Delay(s_resetGrace, time, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return; // the client is gone already
            }
            reset.Reset(2);
            return;
        }
        // HTTP/1.1: HttpContext.Abort() would drop bytes still queued for the socket. Failing the request instead
        // makes Kestrel close the connection gracefully without the terminating chunk.
        throw new ResponseAbortedException();
    }
}

/// <summary>
/// Ends an HTTP/1.1 response that already started without its terminating chunk: Kestrel closes the connection
/// gracefully (everything flushed is delivered) when a request fails after its response started.
/// </summary>
internal sealed class ResponseAbortedException : Exception
{
    public ResponseAbortedException() : base("The response was ended abnormally after an upstream failure.") { }

    public ResponseAbortedException(string message) : base(message) { }

    public ResponseAbortedException(string message, Exception innerException) : base(message, innerException) { }
}
