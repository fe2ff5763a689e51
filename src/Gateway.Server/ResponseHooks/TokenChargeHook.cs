using Gateway.Core.ResponseHooks;
using Gateway.Server.Middleware;

namespace Gateway.Server.ResponseHooks;

/// <summary>
/// The response-middleware half of tpm: once an answer to a key with a tokens-per-minute limit has ended, its
/// usage (from the JSON body or the stream's usage chunk) is charged to the key's budget, off the request path —
/// with a <c>state</c> backend to the shared budget (flushed with the next batch) and to this replica's share.
/// </summary>
internal sealed class TokenChargeHook : IResponseHook
{
    private readonly KeyLimiters _limiters;
    private readonly SharedRateLimit? _shared;
    private readonly OnCompletion _charge;

    public TokenChargeHook(KeyLimiters limiters, SharedRateLimit? shared = null)
    {
        _limiters = limiters;
        _shared = shared;
        _charge = Charge;
    }

    public ResponseHook OnResponse(ResponseStart response) =>
        response.Caller?.Config.Tpm is null ? default : new ResponseHook(WantsBody: true, Completion: _charge);

    private ValueTask Charge(CompletedResponse response)
    {
        if (response.Usage is { } usage && response.Start.Caller is { } caller)
        {
            if (_shared is null)
            {
                _limiters.Existing(caller)?.Tokens?.Charge(usage.TotalTokens);
            }
            else
            {
                _shared.Shared.ChargeTokens(caller, usage.TotalTokens);
                _shared.Shares.Existing(caller.Name)?.Tokens?.Charge(usage.TotalTokens);
            }
        }
        return ValueTask.CompletedTask;
    }
}
