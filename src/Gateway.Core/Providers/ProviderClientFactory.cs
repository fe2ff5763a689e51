using System.Net;
using Gateway.Core.Config;
using Gateway.Core.Resilience;

namespace Gateway.Core.Providers;

/// <summary>
/// The only place that creates upstream HTTP clients. One <see cref="SocketsHttpHandler"/> per provider, with the
/// defaults a proxy needs: never follow a redirect (it would carry the provider key to another host), no cookies,
/// no decompression (bytes pass through as sent), no system proxy, bounded connect time.
/// </summary>
/// <remarks>
/// Microsoft.Extensions.Http's IHttpClientFactory is deliberately not used here: its named clients are fixed at
/// start-up and rotate handlers on a timer, which fights handlers owned by a config snapshot (see docs/design.md).
/// </remarks>
internal sealed class ProviderClientFactory
{
    private readonly Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? _connectCallback;
    private readonly Action _closed;
    private long _live;

    public ProviderClientFactory()
        : this((Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>?)null)
    {
    }

    /// <param name="connectCallback">Replaces socket connects; tests use it to inject DNS and connect faults without network traffic.</param>
    public ProviderClientFactory(Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connectCallback)
    {
        _connectCallback = connectCallback;
        _closed = () =>
        {
            Interlocked.Decrement(ref _live);
            PoolClosed?.Invoke();
        };
    }

    /// <summary>Raised when an endpoint's connection pool was closed (its last snapshot was released).</summary>
    public event Action? PoolClosed;

    /// <summary>Endpoints made here whose connection pool is still open (reloads must not leak them).</summary>
    public long Live => Interlocked.Read(ref _live);

    private readonly Func<ProviderConfig, HttpMessageHandler>? _handlers;

    /// <param name="handlers">Replaces the socket handler of every endpoint: unit tests of the request path without sockets.</param>
    internal ProviderClientFactory(Func<ProviderConfig, HttpMessageHandler> handlers)
        : this((Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>?)null)
    {
        _handlers = handlers;
    }

    public ProviderEndpoint Create(ProviderConfig config, ProviderHealth health)
    {
        if (_handlers is not null)
        {
            Interlocked.Increment(ref _live);
            return new ProviderEndpoint(config, new HttpMessageInvoker(_handlers(config), disposeHandler: true), health, _closed);
        }
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = config.ConnectTimeout,
            // Re-resolve DNS now and then, and drop idle connections before typical provider load balancers do.
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
            EnableMultipleHttp2Connections = true,
            // A response abandoned mid-body (client gone) must close the upstream connection at once, not drain a
            // generation the client no longer wants.
            MaxResponseDrainSize = 0,
            // The engine sets traceparent itself (the attempt's span, or the client's when traces are off): no second injection.
            ActivityHeadersPropagator = null,
        };
        if (_connectCallback is not null)
        {
            handler.ConnectCallback = _connectCallback;
        }
        Interlocked.Increment(ref _live);
        return new ProviderEndpoint(config, new HttpMessageInvoker(handler, disposeHandler: true), health, _closed);
    }
}
