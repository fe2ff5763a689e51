using System.Globalization;

namespace Gateway.Core.Config.Sections;

/// <summary>server: listen address, body limit, drain, TLS, load shedding (overload) and connection limits.</summary>
internal static class ServerSection
{
    internal static ServerConfig ReadServer(YamlMappingReader? server)
    {
        if (server is null)
        {
            return new ServerConfig("127.0.0.1", 8080, ServerConfig.DefaultMaxRequestBodyBytes, ServerConfig.DefaultDrainTimeout, null, null, ConnectionLimits.Default);
        }
        var host = server.String("host") ?? "127.0.0.1";
        if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out _))
        {
            server.Error("host", server.Take("host"), $"'{host}' is not an IP address or localhost");
        }
        var port = (int)(server.Integer("port", 0, 65535) ?? 8080);
        var maxBody = server.Integer("max_request_body_bytes", 1024, 1L << 30) ?? ServerConfig.DefaultMaxRequestBodyBytes;
        var drain = server.Duration("drain_timeout", TimeSpan.Zero, TimeSpan.FromHours(1)) ?? ServerConfig.DefaultDrainTimeout;
        TlsConfig? tls = null;
        if (server.Mapping("tls") is { } tlsReader)
        {
            var certificate = tlsReader.String("certificate");
            var key = tlsReader.String("key");
            if (certificate is null)
            {
                tlsReader.Error("certificate", null, "required: path to a PEM certificate");
            }
            if (key is null)
            {
                tlsReader.Error("key", null, "required: path to a PEM private key");
            }
            tlsReader.ReportUnknownKeys();
            if (certificate is not null && key is not null)
            {
                tls = new TlsConfig(certificate, key);
            }
        }
        var overload = ReadOverload(server.Mapping("overload"));
        var limits = ReadLimits(server.Mapping("limits"));
        server.ReportUnknownKeys();
        return new ServerConfig(host, port, maxBody, drain, tls, overload, limits);
    }

    internal static ConnectionLimits ReadLimits(YamlMappingReader? limits)
    {
        var d = ConnectionLimits.Default;
        if (limits is null)
        {
            return d;
        }
        var maxConnections = limits.Integer("max_connections", 1, 10_000_000);
        var keepAlive = limits.Duration("keep_alive_timeout", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) ?? d.KeepAliveTimeout;
        var headers = limits.Duration("request_headers_timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)) ?? d.RequestHeadersTimeout;
        limits.ReportUnknownKeys();
        return new ConnectionLimits(maxConnections, keepAlive, headers);
    }

    internal static OverloadConfig? ReadOverload(YamlMappingReader? overload)
    {
        if (overload is null)
        {
            return null;
        }
        var maxConcurrent = overload.Integer("max_concurrent_requests", 0, 1_000_000) ?? 0;
        var (maxMemoryBytes, maxMemoryPercent) = ReadMemoryLimit(overload);
        overload.ReportUnknownKeys();
        return maxConcurrent == 0 && maxMemoryBytes == 0 && maxMemoryPercent == 0 ? null : new OverloadConfig(maxConcurrent, maxMemoryBytes, maxMemoryPercent);
    }

    /// <summary>"85%" of the memory the process may use, or an amount: "1536MiB", "2GiB".</summary>
    internal static (long Bytes, int Percent) ReadMemoryLimit(YamlMappingReader overload)
    {
        var text = overload.String("max_memory");
        if (text is null)
        {
            return (0, 0);
        }
        var value = text.AsSpan().Trim();
        if (value.EndsWith("%") && int.TryParse(value[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var percent) && percent is >= 1 and <= 100)
        {
            return (0, percent);
        }
        foreach (var (unit, shift) in s_memoryUnits)
        {
            if (value.EndsWith(unit, StringComparison.Ordinal)
                && long.TryParse(value[..^unit.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
                && amount is >= 1 and <= 1L << 20)
            {
                return (amount << shift, 0);
            }
        }
        overload.Error("max_memory", overload.Take("max_memory"), $"expected a percentage (1% to 100%) or an amount such as 512MiB or 2GiB, got '{text}'");
        return (0, 0);
    }

    internal static readonly (string Unit, int Shift)[] s_memoryUnits = [("MiB", 20), ("GiB", 30)];
}
