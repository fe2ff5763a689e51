using System.Collections.Concurrent;
using Gateway.Core.Config;

namespace Gateway.Core.Spend;

/// <summary>
/// What each gateway key spent in its budget's current period, and what each served model cost since start. Lives
/// outside the config snapshots, by key name, so a reload keeps it; per process, from zero at start (the completion
/// log's <c>cost_usd</c> is the durable record). Charged when an answer's usage is known; read before each request
/// of a key with a budget (one dictionary lookup and a lock-free read of a decimal under the key's lock).
/// </summary>
internal sealed class SpendLedger
{
    private readonly ConcurrentDictionary<string, KeySpend> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ModelSpend> _models = new(StringComparer.Ordinal);

    public SpendLedger(TimeProvider time) => Time = time;

    public TimeProvider Time { get; }

    /// <summary>With a <c>state</c> backend: where budgeted keys' spend is shared with the other replicas.</summary>
    public State.SharedLimits? Shared { get; set; }

    /// <summary>Charges an answer: to its key (in the period of the key's budget, if any) and to the served model's totals.</summary>
    /// <param name="cost">Null: the cost is unknown (no price, or no usage); counted, never guessed.</param>
    public void Charge(string? key, BudgetConfig? budget, string model, decimal? cost)
    {
        var now = Time.GetUtcNow();
        if (key is not null && cost is { } known)
        {
            _keys.GetOrAdd(key, static _ => new KeySpend()).Add(known, budget?.Period, now);
            if (budget is not null)
            {
                Shared?.ChargeSpend(key, known);
            }
        }
        _models.GetOrAdd(model, static _ => new ModelSpend()).Add(cost);
    }

    /// <summary>The key's spend in the current period of <paramref name="period"/> (null: since start).</summary>
    public decimal Spent(string key, BudgetPeriod? period) =>
        _keys.TryGetValue(key, out var spend) ? spend.Current(period, Time.GetUtcNow()) : 0m;

    /// <summary>True when the key's period spend is at or over its budget; then <paramref name="resetsAt"/> is when the period ends.</summary>
    public bool IsExhausted(string key, BudgetConfig budget, out DateTimeOffset resetsAt)
    {
        var now = Time.GetUtcNow();
        resetsAt = BudgetWindow.Of(budget.Period, now).End;
        return _keys.TryGetValue(key, out var spend) && spend.Current(budget.Period, now) >= budget.Usd;
    }

    /// <summary>The totals per served model since start, for /admin/spend.</summary>
    public IEnumerable<(string Model, long Requests, decimal Cost, long Unpriced)> Models()
    {
        foreach (var (model, spend) in _models)
        {
            var (requests, cost, unpriced) = spend.Read();
            yield return (model, requests, cost, unpriced);
        }
    }

    private sealed class KeySpend
    {
        private readonly Lock _lock = new();
        private BudgetPeriod? _period;
        private DateTimeOffset _end = DateTimeOffset.MaxValue;
        private decimal _spent;

        public void Add(decimal cost, BudgetPeriod? period, DateTimeOffset now)
        {
            lock (_lock)
            {
                Roll(period, now);
                _spent += cost;
            }
        }

        public decimal Current(BudgetPeriod? period, DateTimeOffset now)
        {
            lock (_lock)
            {
                Roll(period, now);
                return _spent;
            }
        }

        /// <summary>
        /// A new period starts from zero. A budget whose period changed (a reload) starts its window now and keeps what was
        /// spent so far: the ledger cannot tell which part fell inside the new window, and a budget errs on the safe side.
        /// </summary>
        private void Roll(BudgetPeriod? period, DateTimeOffset now)
        {
            if (period != _period)
            {
                _period = period;
                _end = period is { } p ? BudgetWindow.Of(p, now).End : DateTimeOffset.MaxValue;
            }
            else if (now >= _end)
            {
                _spent = 0;
                _end = BudgetWindow.Of(period!.Value, now).End;
            }
        }
    }

    private sealed class ModelSpend
    {
        private readonly Lock _lock = new();
        private long _requests;
        private decimal _cost;
        private long _unpriced;

        public void Add(decimal? cost)
        {
            lock (_lock)
            {
                _requests++;
                if (cost is { } known)
                {
                    _cost += known;
                }
                else
                {
                    _unpriced++;
                }
            }
        }

        public (long Requests, decimal Cost, long Unpriced) Read()
        {
            lock (_lock)
            {
                return (_requests, _cost, _unpriced);
            }
        }
    }
}
