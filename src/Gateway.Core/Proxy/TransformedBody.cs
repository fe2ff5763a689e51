using System.Buffers;
using Gateway.Core.ResponseHooks;

namespace Gateway.Core.Proxy;

/// <summary>
/// A non-stream answer with a body transform: read whole (bounded), transformed, then sent with its new length.
/// Only responses whose middleware registered a transform take this path; all others keep the zero-copy loop.
/// </summary>
internal static class TransformedBody
{
    // A JSON answer is at most a few MiB; past this it is not transformed but refused, never passed on unredacted.
    private const long MaxBytes = 64L * 1024 * 1024;

    public static async ValueTask<ProxyOutcome> RunAsync(
        RequestContext request, UpstreamAttempt attempt, IBodyTransform transform, ResponseTracking tracking, UsageTap? usage)
    {
        var client = request.Client;
        using var whole = new CompletionBuffer(MaxBytes);
        whole.Append(attempt.Prefix);
        var upstream = attempt.Body ?? await attempt.Response!.Content.ReadAsStreamAsync(attempt.Cancellation.Token);
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var end = StreamEnd.Complete;
        try
        {
            int read;
            while ((read = await upstream.ReadAsync(chunk, attempt.Cancellation.Token)) > 0)
            {
                whole.Append(chunk.AsSpan(0, read));
            }
            if (whole.Truncated)
            {
                end = StreamEnd.TooLargeToTransform;
            }
        }
        catch (Exception) when (attempt.Cancellation.IsCancellationRequested)
        {
            end = StreamEnd.ClientGone;
        }
        catch (Exception)
        {
            end = StreamEnd.Broken;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        long sent = 0;
        if (end == StreamEnd.Complete)
        {
            tracking.Buffer?.Append(whole.Written.Span);
            usage?.Append(whole.Written.Span);
            var output = new ArrayBufferWriter<byte>((int)Math.Min(whole.Written.Length + 256, int.MaxValue));
            transform.TransformBody(whole.Written.Span, output);
            client.SetContentLength(output.WrittenCount);
            client.ResponseBody.Write(output.WrittenSpan);
            sent = output.WrittenCount;
            end = (await client.ResponseBody.FlushAsync(attempt.Cancellation.Token)).IsCompleted ? StreamEnd.ClientGone : StreamEnd.Complete;
        }
        request.Exchange.BytesOut = sent;
        usage?.Record(request.Exchange, request.Request.Caller?.Name);
        var outcome = await ResponseRelay.FinishAsync(request, end, attempt, isEventStream: false, sent);
        tracking.Complete(ResponseRelay.EndOf(outcome), sent);
        return outcome;
    }
}
