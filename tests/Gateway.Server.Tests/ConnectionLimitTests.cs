using System.Net.Sockets;
using System.Text;
using Gateway.Core.Config;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>server.limits: a cap on client connections (new ones refused, open ones served), idle and header timeouts.</summary>
public sealed class ConnectionLimitTests
{
    private static async Task<Socket> ConnectAsync(Uri server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server.Host, server.Port);
        return socket;
    }

    /// <summary>One keep-alive request on an open connection; null when the server closed it instead of answering.</summary>
    private static async Task<string?> RequestAsync(Socket socket, Uri server)
    {
        const string body = """{"model":"local/m"}""";
        var request = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}";
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
            var buffer = new byte[16384];
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            return n == 0 ? null : Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    [Fact]
    public async Task OverTheConnectionCap_NewConnectionsAreRefused_AndOpenOnesKeepBeingServed()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl)).Replace(
            "drain_timeout: 5s }", "drain_timeout: 5s, limits: { max_connections: 2 } }", StringComparison.Ordinal));
        // The test's own HttpClient holds no connection yet: the two sockets below are all there is.
        using var first = await ConnectAsync(gateway.BaseUrl);
        using var second = await ConnectAsync(gateway.BaseUrl);
        Assert.StartsWith("HTTP/1.1 200", await RequestAsync(first, gateway.BaseUrl), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", await RequestAsync(second, gateway.BaseUrl), StringComparison.Ordinal);

        using (var third = await ConnectAsync(gateway.BaseUrl))
        {
            Assert.Null(await RequestAsync(third, gateway.BaseUrl));
        }
        Assert.StartsWith("HTTP/1.1 200", await RequestAsync(first, gateway.BaseUrl), StringComparison.Ordinal);

        second.Shutdown(SocketShutdown.Both);
        second.Close();
        // Kestrel counts a connection until it has processed the close: a fourth gets in once it has.
        string? answer = null;
        for (int i = 0; i < 50 && answer is null; i++)
        {
            using var fourth = await ConnectAsync(gateway.BaseUrl);
            answer = await RequestAsync(fourth, gateway.BaseUrl);
            if (answer is null)
            {
                await Task.Delay(20);
            }
        }
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleConnection_IsClosedAfterKeepAliveTimeout()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl)).Replace(
            "drain_timeout: 5s }", "drain_timeout: 5s, limits: { keep_alive_timeout: 1s } }", StringComparison.Ordinal));
        using var socket = await ConnectAsync(gateway.BaseUrl);
        Assert.StartsWith("HTTP/1.1 200", await RequestAsync(socket, gateway.BaseUrl), StringComparison.Ordinal);

        var idle = System.Diagnostics.Stopwatch.StartNew();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await socket.ReceiveAsync(new byte[16], SocketFlags.None, cancel.Token);

        Assert.Equal(0, n);
        Assert.InRange(idle.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ClientSendingItsHeadersTooSlowly_IsCutAfterRequestHeadersTimeout()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl)).Replace(
            "drain_timeout: 5s }", "drain_timeout: 5s, limits: { request_headers_timeout: 1s } }", StringComparison.Ordinal));
        using var socket = await ConnectAsync(gateway.BaseUrl);

        var started = System.Diagnostics.Stopwatch.StartNew();
        await socket.SendAsync("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"u8.ToArray(), SocketFlags.None);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new byte[4096];
        int n = await socket.ReceiveAsync(received, SocketFlags.None, cancel.Token);

        // Kestrel answers 408 (or just closes) once the headers' time is up; its heartbeat checks once a second.
        Assert.True(n == 0 || Encoding.ASCII.GetString(received, 0, n).StartsWith("HTTP/1.1 408", StringComparison.Ordinal));
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        Assert.Empty(mock.Requests);
    }

    [Fact]
    public void Limits_AreValidated_AndDefaulted()
    {
        var environment = new EnvironmentExpander(_ => null);
        var defaults = ConfigLoader.Parse("providers: { p: { type: openai, base_url: \"http://127.0.0.1:1/v1\" } }", environment).Config!;
        Assert.Equal(ConnectionLimits.Default, defaults.Server.Limits);
        Assert.Null(defaults.Server.Limits!.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(130), defaults.Server.Limits.KeepAliveTimeout);

        var invalid = ConfigLoader.Parse("""
            server: { limits: { max_connections: 0, keep_alive_timeout: 10ms, request_headers_timeout: 2h, idle: 1s } }
            providers: { p: { type: openai, base_url: "http://127.0.0.1:1/v1" } }
            """, environment);
        var errors = invalid.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("line 1: server.limits.max_connections:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 1: server.limits.keep_alive_timeout:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 1: server.limits.request_headers_timeout:", StringComparison.Ordinal));
        Assert.Contains("line 1: server.limits.idle: unknown key", errors);
    }
}
