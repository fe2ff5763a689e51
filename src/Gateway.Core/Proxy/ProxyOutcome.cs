namespace Gateway.Core.Proxy;

/// <summary>
/// How one proxied request ended, as a value. Before the response started, the transport answers
/// <see cref="Error"/> with <see cref="ErrorDetail"/>; after it, the response has already been completed or ended.
/// </summary>
/// <param name="Attempts">Upstream attempts made (X-Gateway-Attempts).</param>
/// <param name="RetryAfter">For a rate-limit error: when the client may try again.</param>
/// <param name="Param">The error's <c>param</c> when it names one the table does not (an unsupported parameter).</param>
internal readonly record struct ProxyOutcome(GatewayError Error, string? ErrorDetail, int Attempts = 0, TimeSpan? RetryAfter = null, string? Param = null)
{
    public static ProxyOutcome Fail(GatewayError error, string? detail) => new(error, detail);
}
