using System.IO.Pipelines;

namespace Gateway.Core.Proxy;

internal enum CopyResult
{
    Success,
    /// <summary>Reading the upstream body failed (reset, truncated framing, protocol error).</summary>
    UpstreamError,
    /// <summary>The client is gone: a flush reported completion or the client's abort cancelled the copy.</summary>
    ClientGone,
}

/// <summary>Receives every chunk the client receives, right after it was written. Must not block or throw.</summary>
internal interface IBodyTee
{
    void Append(ReadOnlySpan<byte> chunk);
}

/// <summary>
/// Copies the upstream body into the client's <see cref="PipeWriter"/>: upstream bytes are read straight into the
/// writer's memory (one copy, no intermediate buffer), and a tee sees each chunk after it was written.
/// </summary>
/// <remarks>
/// Flush policy: an event stream is flushed after every read, so each event leaves the moment it arrived; any other
/// body is flushed when the next upstream read would wait, so data already buffered upstream goes out in large writes.
/// A zero-byte read waits for data before taking writer memory, so idle streams hold no buffers.
/// Failures are returned as values: the caller decides between an error response and an abort.
/// </remarks>
internal static class StreamCopier
{
    // Kestrel's pinned blocks are 4 KiB; larger hints fall back to unpooled memory.
    private const int ReadSize = 4096;

    // Flush at least this often even when upstream data keeps coming synchronously (Kestrel's response buffer is 64 KiB).
    private const int MaxUnflushedBytes = 32 * 1024;

    /// <param name="flushEachRead">
    /// True for event streams: every read is flushed at once, before the next read is issued, so an event never
    /// waits even for the cost of asking the upstream for more. Other bodies flush when the next read would wait.
    /// </param>
    /// <param name="watchdog">Idle timeout and keepalives while waiting for the upstream; null for none.</param>
    /// <param name="written">
    /// Body bytes the caller already wrote into <paramref name="client"/> and gave the tee (the ones read before the
    /// commit point), not yet flushed: an event stream flushes them at once.
    /// </param>
    public static async ValueTask<(CopyResult Result, long Bytes)> CopyAsync(
        Stream upstream, PipeWriter client, IBodyTee? tee, bool flushEachRead, CancellationToken cancellationToken,
        StreamWatchdog? watchdog = null, int written = 0)
    {
        long total = written;
        int unflushed = written;
        try
        {
            if (written > 0 && flushEachRead)
            {
                unflushed = 0;
                if ((await client.FlushAsync(cancellationToken)).IsCompleted)
                {
                    return (CopyResult.ClientGone, total);
                }
            }

            while (true)
            {
                var wait = upstream.ReadAsync(Memory<byte>.Empty, cancellationToken);
                if (!wait.IsCompletedSuccessfully)
                {
                    if (unflushed > 0)
                    {
                        unflushed = 0;
                        if ((await client.FlushAsync(cancellationToken)).IsCompleted)
                        {
                            return (CopyResult.ClientGone, total);
                        }
                    }
                    if (watchdog is null)
                    {
                        await wait;
                    }
                    else
                    {
                        watchdog.Waiting();
                        await wait;
                        await watchdog.ResumeAsync();
                    }
                }
                else
                {
                    _ = wait.Result;
                }

                var memory = client.GetMemory(ReadSize);
                int read = await upstream.ReadAsync(memory, cancellationToken);
                if (read == 0)
                {
                    break;
                }
                client.Advance(read);
                tee?.Append(memory.Span[..read]);
                total += read;
                unflushed += read;
                if (flushEachRead || unflushed >= MaxUnflushedBytes)
                {
                    unflushed = 0;
                    if ((await client.FlushAsync(cancellationToken)).IsCompleted)
                    {
                        return (CopyResult.ClientGone, total);
                    }
                }
            }
            if (unflushed > 0 && (await client.FlushAsync(cancellationToken)).IsCompleted)
            {
                return (CopyResult.ClientGone, total);
            }
            return (CopyResult.Success, total);
        }
        catch (Exception e)
        {
            // A cancelled read can surface as an IOException from the aborted connection: the cause is the client.
            if (e is OperationCanceledException || cancellationToken.IsCancellationRequested)
            {
                return (CopyResult.ClientGone, total);
            }
            await DeliverUnflushedAsync(client, unflushed);
            return (CopyResult.UpstreamError, total);
        }
    }

    // Bytes already read from the upstream belong to the client even when the next read fails: deliver them, so
    // that "nothing was sent" (a clean error status is still possible) and "something was sent" (the response can
    // only end abnormally) stay two distinct, observable states.
    private static async ValueTask DeliverUnflushedAsync(PipeWriter client, int unflushed)
    {
        if (unflushed == 0)
        {
            return;
        }
        try
        {
            await client.FlushAsync();
        }
        catch (Exception)
        {
            // The client is gone as well; the caller ends the response either way.
        }
    }
}
