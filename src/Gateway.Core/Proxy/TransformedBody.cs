using System.Buffers;
using Gateway.Core.ResponseHooks;

namespace Gateway.Core.Proxy;

/// <summary>
/// A non-stream answer read whole (bounded) before it is sent: for a body transform (sent transformed, with its new
/// length), or for its cost (pricing configured: the x-gateway-cost-usd header must leave before the body). All other
/// answers keep the zero-copy loop.
/// </summary>
internal static class TransformedBody
{
    // A JSON answer is at most a few MiB; past this it is not transformed but refused, never passed on unredacted.
    private const long MaxBytes = 64L * 1024 * 1024;

    public static async ValueTask<ProxyOutcome> RunAsync(
        RequestContext request, UpstreamAttempt attempt, IBodyTransform? transform, ResponseTracking? tracking, UsageTap? usage)
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
            tracking?.Buffer?.Append(whole.Written.Span);
            usage?.Append(whole.Written.Span);
            // The whole answer is here: the provider billed it, whatever happens to the write below.
            Spend.SpendSettlement.Settle(request, usage);
            if (request.Exchange.CostUsd is { } cost)
            {
                client.SetHeader("x-gateway-cost-usd", Spend.CostCalculator.Format(cost));
            }
            var body = whole.Written.Span;
            ArrayBufferWriter<byte>? output = null;
            if (transform is not null)
            {
                output = new ArrayBufferWriter<byte>((int)Math.Min(whole.Written.Length + 256, int.MaxValue));
                transform.TransformBody(body, output);
                body = output.WrittenSpan;
            }
            client.SetContentLength(body.Length);
            client.ResponseBody.Write(body);
            sent = body.Length;
            end = (await client.ResponseBody.FlushAsync(attempt.Cancellation.Token)).IsCompleted ? StreamEnd.ClientGone : StreamEnd.Complete;
        }
        else
        {
            Spend.SpendSettlement.Settle(request, usage);
        }
        request.Exchange.BytesOut = sent;
        var outcome = await ResponseRelay.FinishAsync(request, end, attempt, isEventStream: false, sent);
        tracking?.Complete(ResponseRelay.EndOf(outcome), sent);
        return outcome;
    }
}
