using System.Net;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

public sealed class RoutingTests
{
    [Fact]
    public async Task Prefix_SelectsProvider_AndUpstreamSeesBareModel()
    {
        await using var alpha = await MockProviderServer.StartAsync();
        await using var beta = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("alpha", alpha.BaseUrl), ("beta", beta.BaseUrl)));

        using var toBeta = await gateway.PostAsync("/v1/chat/completions", """{"model":"beta/gpt-4o","messages":[]}""");
        using var toAlpha = await gateway.PostAsync("/v1/chat/completions", """{"model":"alpha/llama","messages":[]}""");

        Assert.Equal(HttpStatusCode.OK, toBeta.StatusCode);
        Assert.Equal(HttpStatusCode.OK, toAlpha.StatusCode);
        Assert.Single(alpha.Requests);
        Assert.Single(beta.Requests);
        Assert.Contains("\"model\":\"llama\"", alpha.LastRequest.BodyText, StringComparison.Ordinal);
        Assert.Contains("\"model\":\"gpt-4o\"", beta.LastRequest.BodyText, StringComparison.Ordinal);
        Assert.Equal("beta", toBeta.Headers.GetValues("X-Gateway-Provider").Single());
        Assert.Equal("beta/gpt-4o", toBeta.Headers.GetValues("X-Gateway-Model").Single());
    }

    [Fact]
    public async Task Model_SplitsAtFirstSlash()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("openrouter", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"openrouter/meta-llama/llama-3-70b"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"model":"meta-llama/llama-3-70b"}""", mock.LastRequest.BodyText);
        Assert.Equal("openrouter/meta-llama/llama-3-70b", response.Headers.GetValues("X-Gateway-Model").Single());
    }

    [Fact]
    public async Task ProviderPrefix_IsCaseInsensitive()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"LOCAL/Model-X"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"model":"Model-X"}""", mock.LastRequest.BodyText);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/completions")]
    [InlineData("/v1/embeddings")]
    [InlineData("/v1/responses")]
    [InlineData("/v1/audio/speech")]
    public async Task Endpoint_ForwardedToSamePathBelowBaseUrl_WithQuery(string path)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync(path + "?api-version=2024-06-01", """{"model":"local/m","input":"x"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(path, mock.LastRequest.Path);
        Assert.Equal("?api-version=2024-06-01", mock.LastRequest.Query);
    }

    [Fact]
    public async Task BaseUrlWithPathAndQuery_IsKept()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var baseUrl = new Uri(mock.BaseUrl + "?api-version=1");
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("azure", baseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions?extra=2", """{"model":"azure/m"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v1/chat/completions", mock.LastRequest.Path);
        Assert.Equal("?extra=2&api-version=1", mock.LastRequest.Query);
    }
}
