namespace Gateway.Core.Proxy;

/// <summary>
/// How one proxied request ended, as a value. Before the response started, the transport answers
/// <see cref="Error"/> with <see cref="ErrorDetail"/>; after it, the response has already been completed or ended.
/// </summary>
public readonly record struct ProxyOutcome(GatewayError Error, string? ErrorDetail)
{
    public static ProxyOutcome Success { get; } = new(GatewayError.None, null);

    public static ProxyOutcome Fail(GatewayError error, string? detail) => new(error, detail);
}
