using Gateway.Core.ResponseHooks;
using Gateway.Server.Middleware;

namespace Gateway.Server.ResponseHooks;

/// <summary>
/// The response-middleware half of tpm: once an answer to a key with a tokens-per-minute limit has ended, its
/// usage (from the JSON body or the stream's usage chunk) is charged to the key's budget, off the request path.
/// </summary>
internal sealed class TokenChargeHook : IResponseHook
{
    private readonly KeyLimiters _limiters;
    private readonly OnCompletion _charge;

    public TokenChargeHook(KeyLimiters limiters)
    {
        _limiters = limiters;
        _charge = Charge;
    }

    public ResponseHook OnResponse(ResponseStart response) =>
        response.Caller?.Config.Tpm is null ? default : new ResponseHook(WantsBody: true, Completion: _charge);

    private ValueTask Charge(CompletedResponse response)
    {
        if (response.Usage is { } usage && response.Start.Caller is { } caller)
        {
            _limiters.Existing(caller)?.Tokens?.Charge(usage.TotalTokens);
        }
        return ValueTask.CompletedTask;
    }
}
