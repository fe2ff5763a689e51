using System.Net;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Server.Tests;

public sealed class ModelsTests
{
    private static string Config(string extra, params (string Name, Uri BaseUrl)[] providers) => TestGateway.Config(extra, providers);

    private static async Task<List<(string Id, string Owner)>> ListAsync(TestGateway gateway)
    {
        using var response = await gateway.Client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(TestGateway.ProviderKey, body, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("list", json.RootElement.GetProperty("object").GetString());
        return [.. json.RootElement.GetProperty("data").EnumerateArray().Select(m =>
        {
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.True(m.GetProperty("created").TryGetInt64(out _));
            return (m.GetProperty("id").GetString()!, m.GetProperty("owned_by").GetString()!);
        })];
    }

    [Fact]
    public async Task List_AggregatesProvidersWithPrefixes_PlusStrategies()
    {
        await using var alpha = await MockProviderServer.StartAsync();
        await using var beta = await MockProviderServer.StartAsync();
        alpha.Models = ["gpt-4o", "gpt-4o-mini"];
        beta.Models = ["llama-3"];
        await using var gateway = await TestGateway.StartAsync(Config("""
            strategies:
              smart: { targets: [alpha/gpt-4o, beta/llama-3] }
            """, ("alpha", alpha.BaseUrl), ("beta", beta.BaseUrl)));

        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        Assert.Equal(
            [("alpha/gpt-4o", "alpha"), ("alpha/gpt-4o-mini", "alpha"), ("beta/llama-3", "beta"), ("smart", "gateway")],
            await ListAsync(gateway));
        Assert.Empty(alpha.Requests);
    }

    [Fact]
    public async Task Get_ById_AcceptsSlashes_And404sUnknown()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Models = ["meta-llama/llama-3-70b"];
        await using var gateway = await TestGateway.StartAsync(Config("", ("openrouter", mock.BaseUrl)));
        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        using var found = await gateway.Client.GetAsync("/v1/models/openrouter/meta-llama/llama-3-70b");
        using var missing = await gateway.Client.GetAsync("/v1/models/openrouter/nope");

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal("""{"id":"openrouter/meta-llama/llama-3-70b","object":"model","created":1700000000,"owned_by":"openrouter"}""",
            await found.Content.ReadAsStringAsync());
        await OpenAiAssert.ErrorAsync(missing, HttpStatusCode.NotFound, "model_not_found", "model");
    }

    [Fact]
    public async Task ProviderDownFromTheStart_HasNoEntries_OthersAreListed()
    {
        await using var up = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Config("", ("down", RawUpstream.RefusingBaseUrl()), ("up", up.BaseUrl)));

        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        Assert.Equal([("up/mock-model", "up")], await ListAsync(gateway));
        var ready = await gateway.Client.GetStringAsync("/readyz");
        Assert.Contains("\"models_refresh\":\"failed: is unreachable\"", ready, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProviderFailingLater_KeepsItsLastGoodList_AndLogsOncePerChange()
    {
        var time = new FakeTimeProvider();
        await using var mock = await MockProviderServer.StartAsync();
        mock.Models = ["a"];
        await using var gateway = await TestGateway.StartAsync(Config("models: { refresh_interval: 1m }\n", ("p", mock.BaseUrl)), time: time);
        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        mock.ModelsStatus = 500;
        time.Advance(TimeSpan.FromMinutes(1));
        await gateway.WaitForCatalogAsync(c => c.Revision >= 2);
        time.Advance(TimeSpan.FromMinutes(1));
        await gateway.WaitForCatalogAsync(c => c.Revision >= 3);

        Assert.Equal([("p/a", "p")], await ListAsync(gateway));
        Assert.Equal(3, mock.ModelsRequests);
        Assert.Single(gateway.Logs.Lines, line => line.Contains("models: provider p answered 500", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refresh_PicksUpANewModel()
    {
        var time = new FakeTimeProvider();
        await using var mock = await MockProviderServer.StartAsync();
        mock.Models = ["a"];
        await using var gateway = await TestGateway.StartAsync(Config("models: { refresh_interval: 5m }\n", ("p", mock.BaseUrl)), time: time);
        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        mock.Models = ["a", "b"];
        time.Advance(TimeSpan.FromMinutes(5));
        await gateway.WaitForCatalogAsync(c => c.Revision >= 2);

        Assert.Equal([("p/a", "p"), ("p/b", "p")], await ListAsync(gateway));
    }

    [Fact]
    public async Task DeclaredModels_AreAlwaysListed_AndDiscoveryCanBeTurnedOff()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            server: { host: 127.0.0.1, port: 0 }
            providers:
              quiet: { type: openai, base_url: {{mock.BaseUrl}}, models: [tiny, "org/large"], discover_models: false }
              chatty: { type: openai, base_url: {{mock.BaseUrl}}, models: [declared] }
            """);

        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        Assert.Equal(
            [("chatty/declared", "chatty"), ("chatty/mock-model", "chatty"), ("quiet/org/large", "quiet"), ("quiet/tiny", "quiet")],
            await ListAsync(gateway));
        Assert.Equal(1, mock.ModelsRequests);
    }

    [Fact]
    public async Task MalformedList_IsAFailureForThatProviderOnly()
    {
        await using var broken = await MockProviderServer.StartAsync();
        await using var fine = await MockProviderServer.StartAsync();
        broken.ModelsRawBody = """{"models":"not a list"}""";
        await using var gateway = await TestGateway.StartAsync(Config("", ("broken", broken.BaseUrl), ("fine", fine.BaseUrl)));

        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        Assert.Equal([("fine/mock-model", "fine")], await ListAsync(gateway));
        Assert.Contains(gateway.Logs.Lines, line => line.Contains("models: provider broken sent a model list without a \"data\" array", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SlowModelList_NeverDelaysAChatRequest()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.ModelsDelay = TimeSpan.FromSeconds(10);
        await using var gateway = await TestGateway.StartAsync(Config("", ("p", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"p/m"}""");
        using var list = await gateway.Client.GetAsync("/v1/models");

        // Both were answered while the provider's model list was still pending: nothing waited for it.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(1, mock.ModelsRequests);
        Assert.Equal(0, gateway.Host.Components.Catalog.Current.Revision);
    }

    [Fact]
    public async Task RequireKnownModel_RefusesUnlistedModels_BeforeAnyUpstreamCall()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Models = ["listed"];
        await using var gateway = await TestGateway.StartAsync(Config("routing: { require_known_model: true }\n", ("p", mock.BaseUrl)));
        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);

        using var listed = await gateway.PostAsync("/v1/chat/completions", """{"model":"p/listed"}""");
        using var unlisted = await gateway.PostAsync("/v1/chat/completions", """{"model":"p/unlisted"}""");

        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        await OpenAiAssert.ErrorAsync(unlisted, HttpStatusCode.NotFound, "model_not_found", "model");
        Assert.Single(mock.Requests);
    }
}
