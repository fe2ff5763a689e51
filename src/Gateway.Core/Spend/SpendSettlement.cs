using System.Diagnostics;
using Gateway.Core.Diagnostics;
using Gateway.Core.Proxy;
using Gateway.Core.ResponseHooks;

namespace Gateway.Core.Spend;

/// <summary>
/// Once an answer's usage is known (it has ended, or a whole answer has been read): its token metrics, its cost,
/// the charge to its key's budget and its model's totals, and the cost on the request's record (request log,
/// completion log, the x-gateway-cost-usd header of a whole answer). Called once per committed answer.
/// </summary>
internal static class SpendSettlement
{
    public static void Settle(RequestContext request, UsageTap? tap)
    {
        var exchange = request.Exchange;
        var caller = request.Request.Caller;
        var usage = tap?.Record(exchange, caller?.Name);
        var snapshot = request.Snapshot;
        if (snapshot.Prices is not { } prices || exchange.ServedBy is not { } served)
        {
            return;
        }
        var price = prices.Find(served);
        decimal? cost = price is not null && usage is { } known ? CostCalculator.Of(price, known) : null;
        exchange.CostUsd = cost;
        snapshot.Ledger.Charge(caller?.Name, caller?.Config.Budget, served, cost);
        if (price is null)
        {
            if (GatewayMetrics.Unpriced.Enabled)
            {
                GatewayMetrics.Unpriced.Add(1, new TagList { { "provider", exchange.ServedProvider }, { "model", exchange.ServedLabel ?? GatewayMetrics.OtherModel } });
            }
        }
        else if (cost is { } usd && GatewayMetrics.Cost.Enabled)
        {
            // The served name itself, not the bounded label: a cost exists only for a priced model a provider answered
            // successfully, so the set stays what the providers serve (a made-up name gets an error, not a cost).
            GatewayMetrics.Cost.Add((double)usd, new TagList { { "key", caller?.Name ?? "none" }, { "provider", exchange.ServedProvider }, { "model", served } });
        }
    }
}
