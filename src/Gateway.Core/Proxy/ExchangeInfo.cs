namespace Gateway.Core.Proxy;

/// <summary>
/// What one request did, filled in by Core as it goes and read by the transport's request log when it ends.
/// Names and numbers only: never bodies or credentials.
/// </summary>
internal sealed class ExchangeInfo
{
    /// <summary>The model the client asked for ("smart", "openai/gpt-4o"), when the body got that far.</summary>
    public string? RequestedModel { get; set; }

    /// <summary>"provider/model" of the target whose answer the client got.</summary>
    public string? ServedBy { get; set; }

    /// <summary>The provider whose answer the client got.</summary>
    public string? ServedProvider { get; set; }

    /// <summary>Metric label for the requested model: the strategy, a listed "provider/model", or "_other" (bounded).</summary>
    public string? ModelLabel { get; set; }

    /// <summary>Metric label for the target that served (bounded like <see cref="ModelLabel"/>).</summary>
    public string? ServedLabel { get; set; }

    /// <summary>Set by the transport when metrics are exported: Core fills the bounded labels.</summary>
    public bool RecordLabels { get; set; }

    public int Attempts { get; set; }

    public bool Stream { get; set; }

    public long BytesIn { get; set; }

    public long BytesOut { get; set; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the request arrived.</summary>
    public long StartTimestamp { get; set; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the response started (0: it never did).</summary>
    public long FirstByteTimestamp { get; set; }

    /// <summary>What the answer cost in USD (pricing configured, usage and a price known); null: unknown.</summary>
    public decimal? CostUsd { get; set; }

    /// <summary>The gateway asked the provider for a usage chunk the client did not ask for: it is removed on the way back.</summary>
    public bool InjectedStreamUsage { get; set; }

    /// <summary>The transport set the gateway's own x-ratelimit-* headers: the provider's are not passed on.</summary>
    public bool GatewayRateLimits { get; set; }

    /// <summary>Set by the transport when something will read <see cref="RequestedModel"/>: only then is it made a string.</summary>
    public bool RecordNames { get; set; }

    /// <summary>The client headers this request's snapshot forwards (pinned with the snapshot).</summary>
    internal string[] ForwardedHeaders { get; set; } = HeaderPolicy.ForwardedRequestHeaders;
}
