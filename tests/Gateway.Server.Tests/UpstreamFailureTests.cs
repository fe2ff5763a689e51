using System.Net;
using System.Net.Sockets;
using Gateway.Core.Providers;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

public sealed class UpstreamFailureTests
{
    [Fact]
    public async Task ConnectionRefused_Is502UpstreamError()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("down", RawUpstream.RefusingBaseUrl())));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"down/m"}""");

        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadGateway, "upstream_error");
        Assert.Contains("connection refused", message, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DnsFailure_Is502UpstreamError()
    {
        // No real DNS traffic: the connect callback fails the way a resolver does.
        var clients = new ProviderClientFactory((_, _) => throw new SocketException((int)SocketError.HostNotFound));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("remote", new Uri("http://provider.invalid/v1"))), clients);

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"remote/m"}""");

        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadGateway, "upstream_error");
        Assert.Contains("not resolved", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoHeadersWithinTimeout_Is504_AndUpstreamIsCancelled()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("slow", mock.BaseUrl)).Replace("timeout: 5s", "timeout: 300ms", StringComparison.Ordinal));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"slow/m","mock":{"delay_ms":30000}}""");

        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.GatewayTimeout, "upstream_timeout");
        await mock.LastRequest.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ClosedBeforeHeaders_Is502UpstreamBadResponse()
    {
        await using var raw = await RawUpstream.StartAsync(null);
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("raw", raw.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"raw/m"}""");

        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadGateway, "upstream_bad_response");
    }

    [Fact]
    public async Task GarbageResponse_Is502UpstreamBadResponse()
    {
        await using var raw = await RawUpstream.StartAsync("NOT HTTP AT ALL\r\n\r\n");
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("raw", raw.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"raw/m"}""");

        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadGateway, "upstream_bad_response");
    }

    [Fact]
    public async Task Redirect_IsNeverFollowed_And502()
    {
        await using var elsewhere = await MockProviderServer.StartAsync();
        await using var raw = await RawUpstream.StartAsync($"HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere.BaseUrl}/chat/completions\r\nContent-Length: 0\r\n\r\n");
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("raw", raw.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"raw/m"}""");

        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadGateway, "upstream_bad_response");
        Assert.False(response.Headers.Contains("Location"));
        Assert.Empty(elsewhere.Requests);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(404)]
    [InlineData(422)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task UpstreamErrorStatus_IsPassedThroughUnchanged(int status)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", "{\"model\":\"local/m\",\"mock\":{\"status\":" + status + ",\"retry_after\":\"7\"}}");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"{{\"error\":{{\"message\":\"mock failure {status}\",\"type\":\"server_error\",\"param\":null,\"code\":\"mock_{status}\"}}}}", await response.Content.ReadAsStringAsync());
        Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("local", response.Headers.GetValues("X-Gateway-Provider").Single());
    }
}
