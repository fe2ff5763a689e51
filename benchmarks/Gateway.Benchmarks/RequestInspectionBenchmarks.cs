using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Core.Proxy;

namespace Gateway.Benchmarks;

/// <summary>Step 2-3 of the request path: find model and stream, unescape and validate the model. Budget: 0 B/op.</summary>
[BenchmarkCategory("HotPath")]
public class RequestInspectionBenchmarks
{
    private ReadOnlySequence<byte> _body;

    [Params("small", "64KB", "64KB-in-4KB-segments", "1MB", "escaped")]
    public string Body { get; set; } = "small";

    [GlobalSetup]
    public void Setup() => _body = Body == "64KB-in-4KB-segments"
        ? Bodies.Segmented(Bodies.Large64K, 4096)
        : new ReadOnlySequence<byte>(Bodies.Get(Body));

    [Benchmark]
    public long InspectAndExtractModel()
    {
        var inspection = RequestInspector.Inspect(_body);
        Span<byte> model = stackalloc byte[RequestInspector.MaxModelLength];
        int length = RequestInspector.GetModel(_body, inspection, model);
        // The rewrite is three slices around the model value: prefix, upstream model, suffix.
        var prefix = _body.Slice(0, inspection.ModelValueStart);
        var suffix = _body.Slice(inspection.ModelValueStart + inspection.ModelValueLength);
        return length + prefix.Length + suffix.Length;
    }
}
