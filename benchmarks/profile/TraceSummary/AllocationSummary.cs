using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace TraceSummary;

/// <summary>
/// What the request path allocates, from the runtime's allocation ticks (one event per ~100 KB allocated, with the
/// type and stack of the allocation that crossed the mark): bytes per request, by type and by allocating site.
/// </summary>
internal static class AllocationSummary
{
    public static void Write(TraceFile trace, long requests, int top)
    {
        var byType = new Dictionary<string, long>();
        var bySite = new Dictionary<string, long>();
        long total = 0;
        foreach (var traceEvent in trace.Log.Events)
        {
            if (traceEvent is not GCAllocationTickTraceData tick)
            {
                continue;
            }
            long bytes = tick.AllocationAmount64;
            total += bytes;
            byType[tick.TypeName] = byType.GetValueOrDefault(tick.TypeName) + bytes;
            var site = Site(TraceFile.Frames(traceEvent));
            bySite[site] = bySite.GetValueOrDefault(site) + bytes;
        }
        Console.WriteLine(requests > 0
            ? $"{total / 1024 / 1024} MiB allocated while the trace ran, about {total / requests:N0} bytes per request ({requests:N0} requests)."
            : $"{total / 1024 / 1024} MiB allocated while the trace ran.");
        Console.WriteLine();
        TraceFile.WriteTop("type", byType, total, top);
        TraceFile.WriteTop("allocating site (first Gateway frame, else the allocating frame)", bySite, total, top);
    }

    // Framework helpers (async builders, collections) say little: the first frame of ours on the stack says who asked.
    private static string Site(List<string> frames)
    {
        var ours = frames.Find(frame => frame.StartsWith("Gateway.", StringComparison.Ordinal));
        return ours ?? (frames.Count > 0 ? frames[0] : "(no stack)");
    }
}
