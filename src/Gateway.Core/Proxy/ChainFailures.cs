using Gateway.Core.Routing;

namespace Gateway.Core.Proxy;

/// <summary>
/// The failed attempts of one chain, for the error the client gets when none succeeded: 504 when all timed out,
/// 429 (with the smallest Retry-After) when all were rate-limited, else 502, listing each attempt as
/// "provider/model: reason". Allocates only once a chain has failed more than once.
/// </summary>
internal struct ChainFailures
{
    private List<string>? _lines;
    private string? _first;
    private GatewayError _error;
    private bool _mixed;
    private TimeSpan? _minRetryAfter;

    public int Count { get; private set; }

    public void Add(in RouteTarget target, GatewayError error, string reason, TimeSpan? retryAfter)
    {
        var line = $"{target.QualifiedName}: {reason}";
        if (Count == 0)
        {
            _first = line;
            _error = error;
        }
        else
        {
            (_lines ??= [_first!]).Add(line);
            _mixed |= error != _error;
        }
        if (retryAfter is { } delay && (_minRetryAfter is null || delay < _minRetryAfter))
        {
            _minRetryAfter = delay;
        }
        Count++;
    }

    public readonly ProxyOutcome ToOutcome(int attempts)
    {
        if (Count == 0)
        {
            return new ProxyOutcome(GatewayError.NoAvailableProvider, "No enabled provider can serve this strategy.", attempts);
        }
        var error = _mixed ? GatewayError.AllAttemptsFailed : _error;
        var detail = Count == 1
            ? $"The upstream attempt failed: {_first}."
            : $"All {Count} upstream attempts failed: {string.Join("; ", _lines!)}.";
        var retryAfter = error == GatewayError.UpstreamRateLimited ? _minRetryAfter : null;
        return new ProxyOutcome(error, detail, attempts, retryAfter);
    }
}
