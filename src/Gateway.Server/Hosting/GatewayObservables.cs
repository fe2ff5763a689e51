using System.Diagnostics.Metrics;
using Gateway.Core.Diagnostics;
using Gateway.Core.ResponseHooks;
using Gateway.Core.ResponseHooks.CompletionLog;
using Gateway.Core.Routing;

namespace Gateway.Server.Hosting;

/// <summary>
/// The instruments read on collection rather than recorded on the request path: circuit state per provider, the
/// completion queues' depth and drops, config reloads by result. One meter per host, disposed with it.
/// </summary>
internal sealed class GatewayObservables : IDisposable
{
    private readonly Meter _meter = new(GatewayMetrics.MeterName, "1.0");

    public GatewayObservables(
        SnapshotHolder snapshots, CompletionQueue completions, CompletionLogWriter? completionLog, ReloadStatus reloads, Gateway.Core.State.SharedState? state = null)
    {
        if (state is not null)
        {
            _meter.CreateObservableGauge("gateway.state.backend_up", () => state.IsShared ? 1 : 0, "{backend}",
                "1 while limits, budgets and spend are shared through Redis; 0 while each replica enforces its share alone.");
            _meter.CreateObservableGauge("gateway.state.replicas", () => state.ReplicasSeen, "{replica}", "Live replicas as the last heartbeat counted them.");
        }
        _meter.CreateObservableGauge("gateway.provider.circuit_open", () => CircuitStates(snapshots), "{provider}",
            "1 while a provider's circuit is open or cooling down after a 429, else 0.");
        _meter.CreateObservableGauge("gateway.completion.queue.depth", () => completions.Depth, "{response}",
            "Ended responses waiting for their completion callbacks.");
        _meter.CreateObservableCounter("gateway.completion.dropped", () => completions.Dropped, "{response}",
            "Ended responses whose callbacks were skipped because the completion queue was full.");
        if (completionLog is not null)
        {
            _meter.CreateObservableGauge("gateway.completion_log.queue.depth", () => completionLog.Depth, "{record}", "Completion records waiting for the sink.");
            _meter.CreateObservableCounter("gateway.completion_log.dropped", () => new[]
            {
                Dropped(completionLog, DropReason.QueueFull, "queue_full"),
                Dropped(completionLog, DropReason.SinkFailed, "sink_failed"),
                Dropped(completionLog, DropReason.Rejected, "rejected"),
                Dropped(completionLog, DropReason.RetriesExhausted, "retries_exhausted"),
            }, "{record}", "Completion records dropped, by reason: the queue was full, the sink gave up on the batch, refused a record for good, or for now on every try.");
        }
        _meter.CreateObservableGauge("gateway.key.budget_remaining_usd", () => BudgetsRemaining(snapshots), "{USD}",
            "What each gateway key with a budget may still spend in its current period (0 once spent).");
        _meter.CreateObservableCounter("gateway.config.reloads", () => new[]
        {
            new Measurement<long>(reloads.Succeeded, new KeyValuePair<string, object?>("result", "ok")),
            new Measurement<long>(reloads.Failed, new KeyValuePair<string, object?>("result", "error")),
        }, "{reload}", "Config reloads by result.");
    }

    private static Measurement<long> Dropped(CompletionLogWriter writer, DropReason reason, string label) =>
        new(writer.DroppedFor(reason), new KeyValuePair<string, object?>("reason", label));

    private static IEnumerable<Measurement<int>> CircuitStates(SnapshotHolder snapshots)
    {
        foreach (var provider in snapshots.Current.Providers)
        {
            yield return new Measurement<int>(provider.Health.IsAvailable ? 0 : 1, new KeyValuePair<string, object?>("gen_ai.provider.name", provider.Name));
        }
    }

    private static IEnumerable<Measurement<double>> BudgetsRemaining(SnapshotHolder snapshots)
    {
        var snapshot = snapshots.Current;
        foreach (var key in snapshot.Config.Auth?.Keys ?? [])
        {
            if (key.Budget is { } budget)
            {
                var remaining = Math.Max(0m, budget.Usd - snapshot.Ledger.Spent(key.Name, budget.Period));
                yield return new Measurement<double>((double)remaining, new KeyValuePair<string, object?>("key", key.Name));
            }
        }
    }

    public void Dispose() => _meter.Dispose();
}
