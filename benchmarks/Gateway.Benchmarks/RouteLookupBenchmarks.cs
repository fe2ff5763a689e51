using System.Collections.Frozen;
using System.Text;
using BenchmarkDotNet.Attributes;

namespace Gateway.Benchmarks;

/// <summary>Step 3: provider lookup by the span of the model prefix. Budget for the frozen span lookup: 0 B/op.</summary>
[BenchmarkCategory("HotPath")]
public class RouteLookupBenchmarks
{
    private FrozenDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _frozen;
    private Dictionary<string, int> _dictionary = [];
    private byte[] _model = [];

    [Params(10, 1000)]
    public int Providers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var names = Enumerable.Range(0, Providers).Select(i => $"provider-{i}").ToList();
        _dictionary = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.OrdinalIgnoreCase);
        _frozen = _dictionary.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();
        _model = Encoding.ASCII.GetBytes($"provider-{Providers / 2}/gpt-4o");
    }

    [Benchmark(Baseline = true)]
    public int FrozenSpanLookup()
    {
        Span<char> name = stackalloc char[64];
        Ascii.ToUtf16(_model, name, out int written);
        var prefix = name[..written];
        prefix = prefix[..prefix.IndexOf('/')];
        return _frozen.TryGetValue(prefix, out var value) ? value : -1;
    }

    [Benchmark]
    [BenchmarkCategory("Comparison")]
    public int DictionaryWithStringAllocation()
    {
        var text = Encoding.ASCII.GetString(_model);
        return _dictionary.TryGetValue(text[..text.IndexOf('/', StringComparison.Ordinal)], out var value) ? value : -1;
    }
}
