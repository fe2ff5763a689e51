using System.IO.Pipelines;

namespace Gateway.Core.Proxy;

/// <summary>
/// Reads the whole request body into pooled memory, bounded by the configured limit. The body is complete before
/// any upstream connection is used, so a slow or oversized upload never occupies a provider connection.
/// </summary>
public static class RequestBodyReader
{
    public static async ValueTask<(GatewayError Error, PooledBuffer? Body)> ReadAsync(
        PipeReader reader, long? contentLength, long limit, CancellationToken cancellationToken)
    {
        if (contentLength > limit)
        {
            return (GatewayError.RequestTooLarge, null);
        }
        var body = new PooledBuffer((int)(contentLength ?? 4096));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                try
                {
                    if (body.Length + buffer.Length > limit)
                    {
                        body.Dispose();
                        return (GatewayError.RequestTooLarge, null);
                    }
                    body.Append(buffer);
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
                if (result.IsCompleted || result.IsCanceled)
                {
                    return (GatewayError.None, body);
                }
            }
        }
        catch (OperationCanceledException)
        {
            body.Dispose();
            return (GatewayError.ClientClosedRequest, null);
        }
        catch (IOException)
        {
            // Kestrel reports a truncated, too-slow or malformed upload as BadHttpRequestException (an IOException).
            body.Dispose();
            return (GatewayError.RequestBodyUnreadable, null);
        }
    }
}
