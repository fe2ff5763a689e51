using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace TraceSummary;

/// <summary>A nettrace file opened with its stacks resolved to method names.</summary>
internal sealed class TraceFile : IDisposable
{
    private const int MaxNameLength = 140;

    private TraceFile(TraceLog log) => Log = log;

    public TraceLog Log { get; }

    public static TraceFile Open(string path) => new(new TraceLog(TraceLog.CreateFromEventPipeDataFile(path)));

    /// <summary>The stack of an event, leaf first, as method names ("?module" for native code).</summary>
    public static List<string> Frames(TraceEvent traceEvent)
    {
        var frames = new List<string>();
        for (var frame = traceEvent.CallStack(); frame is not null; frame = frame.Caller)
        {
            var name = frame.CodeAddress.FullMethodName;
            if (string.IsNullOrEmpty(name))
            {
                name = "?" + frame.CodeAddress.ModuleName;
            }
            frames.Add(name.Length > MaxNameLength ? name[..MaxNameLength] + "…" : name);
        }
        return frames;
    }

    public static string Percent(long part, long whole) =>
        whole == 0 ? "—" : (part * 100.0 / whole).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + "%";

    public static void WriteTop(string title, Dictionary<string, long> counts, long total, int top)
    {
        Console.WriteLine($"| {title} | share |");
        Console.WriteLine("|---|---|");
        foreach (var (name, count) in counts.OrderByDescending(entry => entry.Value).Take(top))
        {
            // Double backticks: generic type names contain single ones.
            Console.WriteLine($"| `` {name.Replace("|", "\\|", StringComparison.Ordinal)} `` | {Percent(count, total)} |");
        }
        Console.WriteLine();
    }

    public void Dispose() => Log.Dispose();
}
