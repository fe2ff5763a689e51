namespace TraceSummary;

/// <summary>
/// Where the request path spends its time, from the EventPipe sample profiler (a stack of every managed thread
/// every millisecond). Only threads doing work count: samples parked in a wait (a lock's included: the sampler
/// records threads, not CPUs, and a thread blocked on a lock is not running), and the sampler's own suspension
/// points (PollGC), are left out; native frames ("?") are mostly the socket system calls.
/// </summary>
internal static class CpuSummary
{
    private static readonly string[] s_waits =
        ["Monitor.Wait(", "Monitor.Enter_Slowpath", "WaitHandle.WaitOneNoCheck", "LowLevelLifoSemaphore.WaitNative", "Interop+Sys.Read(", "LowLevelSpinWaiter", "PollGCWorker"];

    private static readonly string[] s_work =
        ["ThreadPoolWorkQueue.Dispatch", "SocketAsyncEngine.EventLoop", "TimerQueue.FireNextTimers"];

    private static readonly (string Prefix, string Component)[] s_components =
    [
        ("Gateway.", "Gateway (our code)"),
        ("Microsoft.AspNetCore.", "Kestrel / ASP.NET Core"),
        ("System.Net.Http.", "HttpClient (SocketsHttpHandler)"),
        ("System.Net.Sockets.", "sockets (managed)"),
        ("Interop+Sys.", "system calls"),
        ("?", "native (system calls, runtime)"),
        ("System.Text.Json.", "System.Text.Json"),
        ("System.IO.Pipelines.", "System.IO.Pipelines"),
    ];

    public static void Write(TraceFile trace, int top)
    {
        var exclusive = new Dictionary<string, long>();
        var inclusive = new Dictionary<string, long>();
        var components = new Dictionary<string, long>();
        long total = 0;
        foreach (var sample in trace.Log.Events)
        {
            if (sample.EventName != "Thread/Sample")
            {
                continue;
            }
            var frames = TraceFile.Frames(sample);
            if (frames.Count == 0 || !IsWork(frames))
            {
                continue;
            }
            total++;
            Add(exclusive, frames[0]);
            Add(components, ComponentOf(frames[0]));
            foreach (var frame in frames.Distinct())
            {
                if (frame.StartsWith("Gateway.", StringComparison.Ordinal))
                {
                    Add(inclusive, frame);
                }
            }
        }
        Console.WriteLine($"{total} samples of threads doing request work.");
        Console.WriteLine();
        TraceFile.WriteTop("component of the running frame", components, total, top);
        TraceFile.WriteTop("running frame (exclusive)", exclusive, total, top);
        TraceFile.WriteTop("Gateway frame on the stack (inclusive)", inclusive, total, top);
    }

    private static bool IsWork(List<string> frames)
    {
        var leaf = frames[0];
        foreach (var wait in s_waits)
        {
            if (leaf.Contains(wait, StringComparison.Ordinal))
            {
                return false;
            }
        }
        // The socket engine's thread parked in epoll_wait.
        if (frames.Count > 1 && leaf.StartsWith('?') && frames[1].Contains("SocketAsyncEngine.EventLoop", StringComparison.Ordinal))
        {
            return false;
        }
        return frames.Exists(frame => Array.Exists(s_work, work => frame.Contains(work, StringComparison.Ordinal)));
    }

    private static string ComponentOf(string frame)
    {
        foreach (var (prefix, component) in s_components)
        {
            if (frame.StartsWith(prefix, StringComparison.Ordinal))
            {
                return component;
            }
        }
        return "runtime and base library";
    }

    private static void Add(Dictionary<string, long> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
}
