namespace Gateway.Core.Config;

/// <summary>One validated revision of config.yaml. Immutable; the snapshot builder turns it into runtime state.</summary>
internal sealed record GatewayConfig(
    ServerConfig Server,
    ValueList<ProviderConfig> Providers,
    ValueList<StrategyConfig> Strategies,
    ModelsConfig Models,
    RoutingConfig Routing,
    AuthConfig? Auth = null,
    RequestLogConfig? RequestLog = null,
    HeaderRulesConfig? Headers = null,
    CompletionLogConfig? CompletionLog = null,
    long CompletionBufferMaxBytes = GatewayConfig.DefaultCompletionBufferMaxBytes,
    RedactConfig? Redact = null,
    UsageConfig? Usage = null,
    AdminConfig? Admin = null,
    TelemetryConfig? Telemetry = null,
    TranslationConfig? Translation = null,
    ValueList<KeyValuePair<string, string>>? Aliases = null,
    PricingConfig? Pricing = null,
    StateConfig? State = null)
{
    public const long DefaultCompletionBufferMaxBytes = 4 * 1024 * 1024;
}

/// <summary>What the translating provider types keep between turns (see Providers/Translation/SignatureCache).</summary>
/// <param name="StateCacheEntries">Tool calls whose provider state (thought signatures, signed thinking) is kept, per process.</param>
/// <param name="StateCacheTtl">How long each is kept.</param>
internal sealed record TranslationConfig(int StateCacheEntries, TimeSpan StateCacheTtl)
{
    public static readonly TranslationConfig Default = new(10_000, TimeSpan.FromHours(1));
}

/// <summary>The background discovery of each provider's models, behind GET /v1/models.</summary>
internal sealed record ModelsConfig(TimeSpan RefreshInterval, TimeSpan FetchTimeout)
{
    public static readonly ModelsConfig Default = new(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10));
}

/// <param name="RequireKnownModel">When true, "provider/model" must be in the model list (404 before any upstream call).</param>
internal sealed record RoutingConfig(bool RequireKnownModel)
{
    public static readonly RoutingConfig Default = new(false);
}

internal sealed record ServerConfig(
    string Host,
    int Port,
    long MaxRequestBodyBytes,
    TimeSpan DrainTimeout,
    TlsConfig? Tls,
    OverloadConfig? Overload = null,
    ConnectionLimits? Limits = null)
{
    public const long DefaultMaxRequestBodyBytes = 16 * 1024 * 1024;
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(30);
}

/// <summary>
/// When the gateway refuses new API requests (503 overloaded) instead of taking on more than it can carry.
/// </summary>
/// <param name="MaxConcurrentRequests">API requests in flight, streams until their last byte; 0: no cap.</param>
/// <param name="MaxMemoryBytes">The process's resident memory above which new requests are refused; 0: see <paramref name="MaxMemoryPercent"/>.</param>
/// <param name="MaxMemoryPercent">The same limit as a percentage of the memory the process may use (the container's limit, else the RAM); 0: no memory limit.</param>
internal sealed record OverloadConfig(long MaxConcurrentRequests, long MaxMemoryBytes, int MaxMemoryPercent);

/// <summary>Client connections (Kestrel's limits): how many at once, how long an idle one and its request headers may take.</summary>
/// <param name="MaxConnections">Open client connections at most; past it new connections are closed at once, in-flight work untouched. Null: no cap.</param>
/// <param name="KeepAliveTimeout">An idle kept-alive connection is closed after this.</param>
/// <param name="RequestHeadersTimeout">A request's headers must arrive within this (slow-header clients are cut).</param>
internal sealed record ConnectionLimits(long? MaxConnections, TimeSpan KeepAliveTimeout, TimeSpan RequestHeadersTimeout)
{
    public static readonly ConnectionLimits Default = new(null, TimeSpan.FromSeconds(130), TimeSpan.FromSeconds(10));
}

internal sealed record TlsConfig(string CertificatePath, string KeyPath);

/// <summary>An upstream, OpenAI-compatible API. <see cref="Name"/> is the routing prefix in "name/model".</summary>
internal sealed record ProviderConfig(
    string Name,
    string Type,
    Uri BaseUrl,
    Secret? ApiKey,
    ValueList<KeyValuePair<string, Secret>> Headers,
    TimeSpan Timeout,
    TimeSpan ConnectTimeout,
    bool Enabled,
    string? DisabledReason,
    ValueList<string> Models,
    bool DiscoverModels,
    ProviderResilience Resilience,
    NativeOptions? Native = null)
{
    /// <summary>The type-specific keys (anthropic, gemini, azure); defaults for a type that has none.</summary>
    public NativeOptions Options => Native ?? NativeOptions.Default;

    // A non-streaming generation only returns headers once it has finished: minutes, not seconds.
    // 600 s is the official OpenAI SDKs' own default request timeout.
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(600);
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);
}

/// <summary>What a client parameter the provider cannot honour becomes.</summary>
internal enum UnsupportedParams
{
    /// <summary>400 naming the parameter (the default: the answer would not be what the client asked for).</summary>
    Reject,

    /// <summary>Dropped, and named in the X-Gateway-Dropped-Params response header.</summary>
    Drop,
}

/// <summary>
/// The keys of the translating provider types. Each applies only to its type (the config refuses it elsewhere).
/// </summary>
/// <param name="AnthropicVersion">anthropic: the anthropic-version header.</param>
/// <param name="Beta">anthropic: anthropic-beta values.</param>
/// <param name="DefaultMaxTokens">anthropic: max_tokens when the client sends neither max_tokens nor max_completion_tokens.</param>
/// <param name="ApiVersion">azure: the classic API's api-version (null: the v1 API, the deployment in the body's model).</param>
/// <param name="Deployments">azure: model → deployment (a model not listed is its own deployment).</param>
/// <param name="AzureFilterResults">azure: keep the content-filter fields in answers.</param>
/// <param name="UnsupportedParams">anthropic, gemini: what a parameter the provider cannot honour becomes.</param>
internal sealed record NativeOptions(
    string AnthropicVersion,
    ValueList<string> Beta,
    int DefaultMaxTokens,
    string? ApiVersion,
    ValueList<KeyValuePair<string, string>> Deployments,
    bool AzureFilterResults,
    UnsupportedParams UnsupportedParams)
{
    public const string DefaultAnthropicVersion = "2023-06-01";

    public static readonly NativeOptions Default = new(DefaultAnthropicVersion, ValueList<string>.Empty, 4096, null, ValueList<KeyValuePair<string, string>>.Empty, false, UnsupportedParams.Reject);

    /// <summary>The Azure deployment serving <paramref name="model"/>.</summary>
    public string DeploymentFor(string model)
    {
        foreach (var (name, deployment) in Deployments)
        {
            if (name == model)
            {
                return deployment;
            }
        }
        return model;
    }
}

/// <summary>How the gateway treats one provider's failures: timeouts beyond the headers, retries, the circuit breaker.</summary>
/// <param name="FirstTokenTimeout">From the response headers to the first content (first SSE data event, or the first body bytes).</param>
/// <param name="StreamIdleTimeout">After commit: the longest silence between two chunks before the response is ended as interrupted.</param>
/// <param name="KeepaliveInterval">After commit: an SSE comment is written after this much silence, so idle-cutting proxies keep the stream.</param>
/// <param name="Retries">Extra attempts on this provider before moving on.</param>
/// <param name="MaxRetryWait">The longest Retry-After (and backoff) the gateway waits out inside one request.</param>
/// <param name="FailureThreshold">Consecutive failures that open the circuit.</param>
/// <param name="Cooldown">How long an open circuit keeps the provider out of rotation before one probe request.</param>
/// <param name="Prefill">Whether and how this provider's models continue a partial assistant message (mid-stream rescue).</param>
/// <param name="ModelPrefill">Per-model exceptions to <paramref name="Prefill"/>: model globs in order, the first match wins.</param>
internal sealed record ProviderResilience(
    TimeSpan FirstTokenTimeout,
    TimeSpan StreamIdleTimeout,
    TimeSpan KeepaliveInterval,
    int Retries,
    TimeSpan MaxRetryWait,
    int FailureThreshold,
    TimeSpan Cooldown,
    PrefillMode Prefill,
    ValueList<KeyValuePair<string, PrefillMode>>? ModelPrefill = null)
{
    public static readonly ProviderResilience Default = new(
        ProviderConfig.DefaultTimeout, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(15), 1, TimeSpan.FromSeconds(5), 3, TimeSpan.FromSeconds(30), PrefillMode.None);

    /// <summary>How <paramref name="model"/> continues a prefill: its model_prefill entry, else the provider's prefill.</summary>
    public PrefillMode PrefillFor(ReadOnlySpan<char> model)
    {
        foreach (var (glob, mode) in ModelPrefill ?? [])
        {
            if (Access.ModelGlob.Matches(glob, model))
            {
                return mode;
            }
        }
        return Prefill;
    }
}

internal enum PrefillMode
{
    /// <summary>Never used to continue an interrupted stream.</summary>
    None,

    /// <summary>A trailing assistant message is continued as is (Anthropic-style prefill, llama.cpp, Ollama).</summary>
    Assistant,

    /// <summary>vLLM: the trailing assistant message plus continue_final_message: true, add_generation_prompt: false.</summary>
    Vllm,
}

internal enum StrategyMode
{
    /// <summary>Targets in the order written.</summary>
    Fallback,

    /// <summary>One target picked by weight among the healthy ones; on failure, the others by descending weight.</summary>
    LoadBalance,
}

internal enum RateLimitedPolicy
{
    /// <summary>A 429 moves on to the next target at once (the provider cools down for its Retry-After).</summary>
    Failover,

    /// <summary>A 429 whose Retry-After is at most max_retry_wait is waited out on the same provider first.</summary>
    Wait,
}

internal enum InterruptPolicy
{
    /// <summary>A committed stream that breaks ends with an in-band error event and an abnormal end.</summary>
    Error,

    /// <summary>A committed stream that breaks is continued by the next prefill-capable target.</summary>
    Continue,
}

/// <summary>A named chain of targets a client can ask for by name ("model": "smart").</summary>
/// <param name="Deadline">Bounds everything before the commit point: every attempt, retry and wait.</param>
internal sealed record StrategyConfig(
    string Name,
    StrategyMode Mode,
    ValueList<StrategyTarget> Targets,
    FallbackPolicy FallbackOn,
    RateLimitedPolicy RateLimited,
    InterruptPolicy OnInterrupt,
    TimeSpan Deadline)
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(120);
}

/// <param name="Weight">Share of traffic in loadbalance mode (ignored by fallback, which keeps the order).</param>
internal sealed record StrategyTarget(string Provider, string Model, int Weight = 1)
{
    public override string ToString() => Provider + "/" + Model;
}

/// <summary>Failure classes a strategy's fallback_on can name.</summary>
[Flags]
internal enum FailureClasses
{
    None = 0,

    /// <summary>Unreachable, refused, TLS failure, reset or closed before the response headers.</summary>
    Connect = 1,

    /// <summary>No headers within timeout, no first content within first_token_timeout, or the deadline.</summary>
    Timeout = 2,

    /// <summary>A 429.</summary>
    RateLimited = 4,

    /// <summary>A 5xx, or an unusable answer: a redirect, an invalid response, an empty stream, an error as the first event.</summary>
    ServerError = 8,
}

/// <summary>
/// Which failures before the commit point may be retried or fall back (the strategy's fallback_on).
/// Anything else is the answer and goes back to the client as is.
/// </summary>
/// <param name="Statuses">Further statuses (e.g. 404) that move on.</param>
/// <param name="ErrorCodes">Upstream error codes (the "code" of a 4xx error body, e.g. context_length_exceeded) that move on.</param>
internal sealed record FallbackPolicy(FailureClasses Classes, ValueList<int> Statuses, ValueList<string> ErrorCodes)
{
    public static readonly FallbackPolicy Default = new(
        FailureClasses.Connect | FailureClasses.Timeout | FailureClasses.RateLimited | FailureClasses.ServerError, [], []);

    public bool Allows(FailureClasses failure) => (Classes & failure) != 0;

    public bool AllowsStatus(int status)
    {
        foreach (var listed in Statuses)
        {
            if (listed == status)
            {
                return true;
            }
        }
        return false;
    }

    public bool AllowsCode(ReadOnlySpan<char> code)
    {
        foreach (var listed in ErrorCodes)
        {
            if (code.Equals(listed, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>Gateway keys: who may call, which models, how much. Absent = an open gateway.</summary>
internal sealed record AuthConfig(ValueList<ClientKeyConfig> Keys);

/// <param name="Name">Appears in logs, metrics and completion records; the key itself never does.</param>
/// <param name="Models">Glob allow-list ("openai/*", "smart"); null = every model.</param>
/// <param name="DisabledReason">Set when the key's variable is unset: the key is refused, with a start-up warning.</param>
/// <param name="Budget">Spend per period; past it the key is refused (429 insufficient_quota) until the period ends.</param>
internal sealed record ClientKeyConfig(
    string Name, Secret? Key, ValueList<string>? Models, int? Rpm, long? Tpm, int? MaxConcurrent, string? DisabledReason, BudgetConfig? Budget = null);

/// <summary>Redis, where replicas share limits, budgets and spend (the <c>state</c> section; restart to change).</summary>
/// <param name="Timeout">The most a request ever waits on Redis.</param>
/// <param name="FlushInterval">How often what answers owe (tokens, spend, ended leases) is sent.</param>
/// <param name="LeaseTtl">How long a max_concurrent slot outlives a replica that died holding it.</param>
/// <param name="BorrowMax">The most admissions of a busy key one round trip borrows for this replica (0: every request asks Redis).</param>
internal sealed record StateConfig(
    string Host, int Port, bool Tls, string? User, Secret? Password, int? Database, TimeSpan Timeout, string KeyPrefix, TimeSpan FlushInterval,
    TimeSpan LeaseTtl, int BorrowMax);

/// <summary>A key's budget: at most <paramref name="Usd"/> per <paramref name="Period"/>.</summary>
internal sealed record BudgetConfig(decimal Usd, Spend.BudgetPeriod Period);

/// <summary>Prices per <c>provider/model</c> glob: the config's entries, then the bundled file's (the config's win).</summary>
/// <param name="File">The file's path as configured; null: none.</param>
/// <param name="FileDate">The date the file says its prices were written.</param>
internal sealed record PricingConfig(ValueList<Spend.PriceEntry> Models, ValueList<Spend.PriceEntry> FileModels, string? File, string? FileDate);

internal enum RequestLogFormat
{
    Json,
    Text,
}

internal sealed record RequestLogConfig(RequestLogFormat Format);

/// <summary>Gateway-wide rules for client headers on their way to providers (per-provider additions are provider.headers).</summary>
/// <param name="DropFromClient">Never forwarded, even when otherwise allowed.</param>
/// <param name="ForwardFromClient">Forwarded in addition to the built-in allow-list (credentials can never be added).</param>
internal sealed record HeaderRulesConfig(ValueList<string> DropFromClient, ValueList<string> ForwardFromClient)
{
    public static readonly HeaderRulesConfig Default = new([], []);
}

internal enum CompletionSink
{
    File,
    Elasticsearch,
}

/// <summary>One record per completed request, written off the request path.</summary>
internal sealed record CompletionLogConfig(
    CompletionSink Sink, string Path, long MaxFileBytes, bool CaptureBodies, ElasticsearchConfig? Elasticsearch, int QueueCapacity)
{
    public const long DefaultMaxFileBytes = 100L * 1024 * 1024;
    public const int DefaultQueueCapacity = 10_000;
}

/// <summary>An Elasticsearch/OpenSearch _bulk endpoint; batches by count or time, retried with backoff.</summary>
internal sealed record ElasticsearchConfig(Uri Url, string Index, Secret? ApiKey, int BatchSize, TimeSpan FlushInterval);

/// <summary>Regex redaction of generated text (delta.content of SSE events, message content of JSON answers).</summary>
/// <param name="Models">Glob list of requested models it applies to; null = all.</param>
/// <param name="MaxMatchChars">The longest text a pattern can match: a stream holds back this many characters so a match split across events is still caught.</param>
internal sealed record RedactConfig(ValueList<System.Text.RegularExpressions.Regex> Patterns, string Replacement, ValueList<string>? Models, int MaxMatchChars)
{
    // A Regex compares by reference: two configs with the same patterns are the same config.
    public bool Equals(RedactConfig? other) =>
        other is not null && Replacement == other.Replacement && Equals(Models, other.Models) && MaxMatchChars == other.MaxMatchChars
        && Patterns.Count == other.Patterns.Count
        && Patterns.Zip(other.Patterns).All(pair => pair.First.ToString() == pair.Second.ToString() && pair.First.Options == pair.Second.Options);

    public override int GetHashCode() => HashCode.Combine(Replacement, Models, MaxMatchChars, Patterns.Count);
}


/// <param name="IncludeInStreams">Ask providers for the final usage chunk (stream_options.include_usage) on chat streams
/// whose client did not, so usage (tpm, completion log) is known for every stream; the extra chunk is removed from
/// what the client receives.</param>
internal sealed record UsageConfig(bool IncludeInStreams)
{
    public static readonly UsageConfig Default = new(false);
}

/// <summary>The admin surface (POST /admin/reload, GET /admin/config); absent = it does not exist (404).</summary>
/// <param name="DisabledReason">Set when the key's variable is unset: the admin surface stays closed.</param>
internal sealed record AdminConfig(Secret? Key, string? DisabledReason);

/// <summary>Metrics (Prometheus on GET /metrics, and OTLP) and traces (OTLP); read at start-up.</summary>
/// <param name="SampleRatio">Of the traces the gateway starts; a client's traceparent decides for its own trace.</param>
/// <param name="OtlpEndpoint">An OpenTelemetry collector; null = no OTLP export.</param>
internal sealed record TelemetryConfig(bool Metrics, bool Traces, double SampleRatio, Uri? OtlpEndpoint, bool OtlpHttp)
{
    public static readonly TelemetryConfig Default = new(true, false, 1.0, null, false);
}
