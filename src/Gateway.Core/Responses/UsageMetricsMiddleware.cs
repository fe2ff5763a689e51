using System.Diagnostics;
using Gateway.Core.Diagnostics;

namespace Gateway.Core.Responses;

/// <summary>
/// Records gen_ai.client.token.usage (input and output tokens by provider, served model and gateway key) from
/// each answer's usage once the answer has ended, off the request path.
/// </summary>
public sealed class UsageMetricsMiddleware : IResponseMiddleware
{
    private readonly OnCompletion _record = Record;

    public ResponseHook OnResponse(ResponseStart response) =>
        GatewayMetrics.TokenUsage.Enabled && response.Status is >= 200 and < 300 ? new ResponseHook(WantsBody: true, Completion: _record) : default;

    private static ValueTask Record(CompletedResponse response)
    {
        if (response.Usage is { } usage)
        {
            var exchange = response.Start.Exchange;
            var provider = exchange.ServedProvider ?? "none";
            var model = exchange.ServedLabel ?? GatewayMetrics.OtherModel;
            var key = response.Start.Caller?.Name ?? "none";
            GatewayMetrics.TokenUsage.Record(usage.PromptTokens, new TagList
            {
                { "gen_ai.token.type", "input" }, { "gen_ai.provider.name", provider }, { "gen_ai.response.model", model }, { "gateway.key", key },
            });
            GatewayMetrics.TokenUsage.Record(usage.CompletionTokens, new TagList
            {
                { "gen_ai.token.type", "output" }, { "gen_ai.provider.name", provider }, { "gen_ai.response.model", model }, { "gateway.key", key },
            });
        }
        return ValueTask.CompletedTask;
    }
}
