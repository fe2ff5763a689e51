using TraceSummary;

// trace-summary cpu|alloc <file.nettrace> <requests in the traced window> [top]
if (args.Length < 3 || !long.TryParse(args[2], out long requests))
{
    Console.Error.WriteLine("usage: TraceSummary cpu|alloc <file.nettrace> <requests in the traced window> [top]");
    return 2;
}
int top = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 25;
using var trace = TraceFile.Open(args[1]);
switch (args[0])
{
    case "cpu":
        CpuSummary.Write(trace, top);
        return 0;
    case "alloc":
        AllocationSummary.Write(trace, requests, top);
        return 0;
    default:
        Console.Error.WriteLine($"unknown summary '{args[0]}'");
        return 2;
}
