namespace Gateway.Core.Proxy;

/// <summary>How one proxied request ended, as a value: what the transport answers (before the response started) and what it logs.</summary>
public readonly record struct ProxyOutcome(
    GatewayError Error,
    string? ErrorDetail,
    string? Provider,
    string? ServedModel,
    int UpstreamStatus,
    int Attempts,
    long BytesToClient)
{
    public static ProxyOutcome Fail(GatewayError error, string? detail, int attempts = 0) =>
        new(error, detail, null, null, 0, attempts, 0);
}
