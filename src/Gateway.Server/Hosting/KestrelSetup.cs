using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gateway.Core.Config;
using Gateway.Server.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Server.Hosting;

/// <summary>Kestrel: the listen address, TLS (HTTP/1.1 + HTTP/2) or plain HTTP/1.1, limits, and the Connection-header decoding.</summary>
internal static class KestrelSetup
{
    public static void Configure(KestrelServerOptions kestrel, ServerConfig server)
    {
        kestrel.AddServerHeader = false;
        // The proxy enforces max_request_body_bytes itself so that the client gets an OpenAI-shaped 413.
        kestrel.Limits.MaxRequestBodySize = null;
        var limits = server.Limits ?? ConnectionLimits.Default;
        kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
        kestrel.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
        kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        kestrel.RequestHeaderEncodingSelector = ConnectionHeaderDecoding.Select;

        X509Certificate2? certificate = server.Tls is { } tls
            ? X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath)
            : null;
        void Configure(ListenOptions listen)
        {
            if (certificate is not null)
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1;
            }
        }

        if (server.Host == "localhost")
        {
            kestrel.ListenLocalhost(server.Port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(server.Host), server.Port, Configure);
        }
    }
}
