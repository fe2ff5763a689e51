namespace Gateway.Core.Proxy;

/// <summary>How a committed response's body ended: a value, so the driver and the log compare no strings.</summary>
internal enum StreamEnd
{
    /// <summary>The whole answer reached the client (for a stream: a finish_reason or [DONE] was seen).</summary>
    Complete,

    /// <summary>The client went away.</summary>
    ClientGone,

    /// <summary>The upstream was silent for stream_idle_timeout.</summary>
    Stalled,

    /// <summary>The upstream closed the stream with neither a finish_reason nor [DONE].</summary>
    EndedIncomplete,

    /// <summary>Reading the upstream failed (reset, truncated framing, protocol error).</summary>
    Broken,

    /// <summary>A body to transform was over the transform limit: refused, never passed on untransformed.</summary>
    TooLargeToTransform,
}

internal static class StreamEnds
{
    /// <summary>An end that is neither complete nor the client's doing: the response ends abnormally.</summary>
    public static bool IsInterruption(StreamEnd end) => end is not (StreamEnd.Complete or StreamEnd.ClientGone);

    /// <summary>How an interrupted stream broke, for the client's in-band error and the log ("The stream from provider 'x' …").</summary>
    public static string Describe(StreamEnd end, TimeSpan idleTimeout) => end switch
    {
        StreamEnd.Stalled => $"stalled for {Config.Durations.Format(idleTimeout)}",
        StreamEnd.EndedIncomplete => "ended without a finish_reason or [DONE]",
        StreamEnd.TooLargeToTransform => "was too large to transform",
        _ => "was interrupted before it completed",
    };

    /// <summary>How a copied body ended, from the copy's result, the watchdog and (for a stream) what the scanner saw.</summary>
    public static StreamEnd Of(CopyResult copy, StreamWatchdog watchdog, SseScanner? events)
    {
        if (watchdog.Expired)
        {
            // After a finish_reason, the answer is whole: an upstream that does not close is simply finished for it.
            return events is { IsComplete: true } ? StreamEnd.Complete : StreamEnd.Stalled;
        }
        return copy switch
        {
            CopyResult.Success when events is { IsComplete: false } => StreamEnd.EndedIncomplete,
            CopyResult.Success => StreamEnd.Complete,
            CopyResult.ClientGone => StreamEnd.ClientGone,
            _ => StreamEnd.Broken,
        };
    }
}
