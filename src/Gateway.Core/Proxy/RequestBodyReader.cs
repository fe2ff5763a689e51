using System.IO.Pipelines;

namespace Gateway.Core.Proxy;

/// <summary>
/// Reads the whole request body, bounded by the configured limit. The body is complete before any upstream
/// connection is used, so a slow or oversized upload never occupies a provider connection.
/// </summary>
internal static class RequestBodyReader
{
    /// <summary>
    /// A body still arriving is held in the transport's pipe up to this size. Beyond it, it moves to a rented array,
    /// so that the transport's flow control (Kestrel's 1 MiB request buffer, HTTP/2's 768 KiB stream window) never
    /// waits for a consumer that is waiting for the rest of the body.
    /// </summary>
    public const int HoldInPipeLimit = 256 * 1024;

    public static async ValueTask<(GatewayError Error, RequestBody? Body)> ReadAsync(
        PipeReader reader, long? contentLength, long limit, CancellationToken cancellationToken)
    {
        if (contentLength > limit)
        {
            return (GatewayError.RequestTooLarge, null);
        }
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                if (buffer.Length > limit)
                {
                    reader.AdvanceTo(buffer.End);
                    return (GatewayError.RequestTooLarge, null);
                }
                if (result.IsCanceled)
                {
                    reader.AdvanceTo(buffer.End);
                    return (GatewayError.RequestBodyUnreadable, null);
                }
                if (result.IsCompleted)
                {
                    // Not advanced: the bytes stay in the pipe until the body is disposed.
                    return (GatewayError.None, new RequestBody(reader, buffer));
                }
                if (buffer.Length >= HoldInPipeLimit)
                {
                    return await CopyRestAsync(reader, result, contentLength, limit, cancellationToken);
                }
                // Consume nothing, examine everything: the next read returns all of it plus what arrived.
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException)
        {
            return (GatewayError.ClientClosedRequest, null);
        }
        catch (IOException)
        {
            // Kestrel reports a truncated, too-slow or malformed upload as BadHttpRequestException (an IOException).
            return (GatewayError.RequestBodyUnreadable, null);
        }
    }

    private static async ValueTask<(GatewayError, RequestBody?)> CopyRestAsync(
        PipeReader reader, ReadResult received, long? contentLength, long limit, CancellationToken cancellationToken)
    {
        var array = new PooledBuffer((int)Math.Min(contentLength ?? received.Buffer.Length * 2, limit));
        try
        {
            array.Append(received.Buffer);
            reader.AdvanceTo(received.Buffer.End);
            if (received.IsCompleted)
            {
                return (GatewayError.None, new RequestBody(array));
            }
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                if (array.Length + buffer.Length > limit)
                {
                    reader.AdvanceTo(buffer.End);
                    array.Dispose();
                    return (GatewayError.RequestTooLarge, null);
                }
                array.Append(buffer);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return (result.IsCanceled ? GatewayError.RequestBodyUnreadable : GatewayError.None, result.IsCanceled ? null : new RequestBody(array));
                }
            }
        }
        catch (Exception)
        {
            array.Dispose();
            throw;
        }
    }
}
