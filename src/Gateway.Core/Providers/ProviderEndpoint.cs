using System.Collections.Frozen;
using Gateway.Core.Config;
using Gateway.Core.Resilience;

namespace Gateway.Core.Providers;

/// <summary>
/// One upstream provider at run time: where to send, how to authenticate, how long to wait, and the pooled
/// connection handler. Owned by the snapshot that built it, so a config reload can replace it whole.
/// </summary>
internal sealed class ProviderEndpoint
{
    private readonly Action? _closed;
    private int _owners = 1;

    // The OpenAI endpoints clients actually use. Their upstream URIs are built once here instead of once per request.
    private static readonly string[] s_wellKnownPaths = ["chat/completions", "completions", "embeddings", "responses", "messages"];

    private readonly FrozenDictionary<string, Uri>.AlternateLookup<ReadOnlySpan<char>> _wellKnownUris;
    private readonly string _baseUrl;
    private readonly string? _baseQuery;
    private readonly string[] _baseQueryNames;

    /// <param name="closed">Called once the connection pool is closed (the factory counts live endpoints).</param>
    public ProviderEndpoint(ProviderConfig config, HttpMessageInvoker invoker, ProviderHealth health, Action? closed = null)
    {
        _closed = closed;
        Config = config;
        Health = health;
        Name = config.Name;
        Type = ProviderTypes.Find(config.Type) ?? throw new ArgumentException($"unsupported provider type '{config.Type}'", nameof(config));
        Invoker = invoker;
        var url = config.BaseUrl;
        _baseUrl = url.GetLeftPart(UriPartial.Path).TrimEnd('/');
        _baseQuery = url.Query.Length > 1 ? url.Query[1..] : null;
        _baseQueryNames = UpstreamUri.NamesOf(_baseQuery);
        AuthorizationHeader = config.ApiKey is null ? null : "Bearer " + config.ApiKey.Reveal();
        var secrets = new List<string?> { config.ApiKey?.Reveal() };
        foreach (var header in config.Headers)
        {
            secrets.Add(header.Value.Reveal());
        }
        Scrubber = Proxy.SecretScrubber.For(secrets);
        var uris = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var path in s_wellKnownPaths)
        {
            uris[path] = BuildUri(path, default);
        }
        _wellKnownUris = uris.ToFrozenDictionary(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        RedactedBaseUrl = _baseUrl;
    }

    public string Name { get; }

    public ProviderConfig Config { get; }

    /// <summary>What this provider's wire format needs (body, credentials, first event, relay): the seam the request path calls.</summary>
    internal IProviderType Type { get; }

    public HttpMessageInvoker Invoker { get; }

    /// <summary>Circuit state, shared with every other snapshot that has a provider of this name.</summary>
    public ProviderHealth Health { get; }

    /// <summary>"Bearer &lt;key&gt;", or null when the provider needs no key. Never logged.</summary>
    public string? AuthorizationHeader { get; }

    /// <summary>Masks this provider's key and header values in what it sends back; null when it has none.</summary>
    public Proxy.SecretScrubber? Scrubber { get; }

    /// <summary>Scheme, host and path only: safe to print at start-up.</summary>
    public string RedactedBaseUrl { get; }

    /// <summary>The upstream URI for a client path below /v1/ (e.g. "chat/completions") and its query string.</summary>
    public Uri UriFor(ReadOnlySpan<char> path, ReadOnlySpan<char> query) =>
        query.IsEmpty && _wellKnownUris.TryGetValue(path, out var uri) ? uri : BuildUri(path, query);

    /// <summary>
    /// base_url's path + the client's path (already checked by <see cref="UpstreamUri.IsSafePath"/>) + the client's
    /// query (re-encoded) + base_url's query. Built without canonicalization: every byte was checked, and
    /// <see cref="Uri"/>'s own clean-up (unescaping, dot segments, '\' to '/') is what once let a path escape.
    /// </summary>
    private Uri BuildUri(ReadOnlySpan<char> path, ReadOnlySpan<char> query)
    {
        var text = new System.Text.StringBuilder(_baseUrl.Length + path.Length + query.Length + 64);
        text.Append(_baseUrl).Append('/').Append(path).Append('?');
        bool hasQuery = UpstreamUri.AppendClientQuery(text, query, _baseQueryNames);
        if (_baseQuery is not null)
        {
            text.Append(hasQuery ? "&" : "").Append(_baseQuery);
        }
        else if (!hasQuery)
        {
            text.Length--;
        }
        return new Uri(text.ToString(), s_exact);
    }

    private static readonly UriCreationOptions s_exact = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>A newer snapshot keeps this endpoint (same settings): its connection pool is reused.</summary>
    public void AddOwner() => Interlocked.Increment(ref _owners);

    /// <summary>A snapshot holding this endpoint was released; the last one closes the connection pool.</summary>
    public void ReleaseOwner()
    {
        if (Interlocked.Decrement(ref _owners) == 0)
        {
            Invoker.Dispose();
            _closed?.Invoke();
        }
    }

    /// <summary>Whether a newer config's provider can keep this endpoint (and its connections): the same settings, by value.</summary>
    public bool HasSameSettings(ProviderConfig other) => Config == other;
}
