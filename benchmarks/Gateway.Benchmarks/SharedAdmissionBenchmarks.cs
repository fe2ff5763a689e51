using BenchmarkDotNet.Attributes;
using Gateway.Core.Access;
using Gateway.Core.Config;
using Gateway.Core.Config.Sections;
using Gateway.Core.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// What the shared limits add to a request when they make no call: the admission when Redis is not in use (the
/// degraded path, before the local share decides) and when the key's replica holds a borrowed batch (the common case
/// of a busy key with healthy Redis). The load benchmark cannot resolve a few hundred nanoseconds on this machine
/// (benchmarks/load/scaleout.sh: its gw-control row); this can. Neither may allocate.
/// </summary>
[MemoryDiagnoser]
public class SharedAdmissionBenchmarks
{
    private SharedState _down = null!;
    private SharedState _borrowing = null!;
    private ClientKey _key = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = new ClientKey(new ClientKeyConfig("bench", new Secret("bench-shared-admission-key"), null, 1_000_000, 1_000_000_000, null, null));
        // A Redis that is not there (port 9 refuses): the connection never comes up.
        var config = StateSection.Parse("redis://127.0.0.1:9")!;
        _down = SharedState.Start(config, TimeProvider.System, NullLogger.Instance);
        for (int i = 0; i < BackendHealth.FailuresToOpen; i++)
        {
            _down.Health.Failed();
        }
        _borrowing = SharedState.Start(config, TimeProvider.System, NullLogger.Instance);
        _ = _borrowing.Limits.AdmitAsync(_key, "warm", default).AsTask().Result;
        foreach (var entry in _borrowing.Limits.Entries)
        {
            // As a borrowing request installs it, with more units than any run takes.
            entry.Borrowed.FinishBorrowing(new AdmissionBatch(int.MaxValue, 0, long.MaxValue, null, 500_000, 500_000_000));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _down.DisposeAsync().AsTask().Wait();
        _borrowing.DisposeAsync().AsTask().Wait();
    }

    [Benchmark(Baseline = true)]
    public bool Degraded() => Decided(_down.Limits.AdmitAsync(_key, "req", default)).Local;

    [Benchmark]
    public bool Borrowed() => Decided(_borrowing.Limits.AdmitAsync(_key, "req", default)).Allowed;

    // Both paths decide without awaiting anything: an admission that is still pending is a broken benchmark.
    private static Admission Decided(ValueTask<Admission> admission) =>
        admission.IsCompletedSuccessfully ? admission.Result : throw new InvalidOperationException("the admission waited");
}
