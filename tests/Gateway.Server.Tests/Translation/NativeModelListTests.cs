using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests.Translation;

/// <summary>Model discovery in each provider's own list format, prefixed as for every provider.</summary>
public sealed class NativeModelListTests
{
    private static async Task<List<string>> IdsAsync(TestGateway gateway)
    {
        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);
        using var json = JsonDocument.Parse(await gateway.Client.GetStringAsync("/v1/models"));
        return json.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task Anthropic_and_gemini_lists_are_read_in_their_formats_gemini_keeping_chat_models_only()
    {
        await using var anthropic = await MockProviderServer.StartAsync();
        anthropic.ModelsRawBody = """{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}""";
        await using var gemini = await MockProviderServer.StartAsync();
        gemini.ModelsRawBody = """
            {"models":[
              {"name":"models/gemini-2.5-flash","supportedGenerationMethods":["generateContent","countTokens"]},
              {"name":"models/text-embedding-004","supportedGenerationMethods":["embedContent"]}],
             "nextPageToken":""}
            """;
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("claude", anthropic.BaseUrl, "type: anthropic"), ("gemini", gemini.BaseUrl, "type: gemini")));

        Assert.Equal(["claude/claude-sonnet-4-5", "gemini/gemini-2.5-flash"], await IdsAsync(gateway));
        Assert.Equal(1, anthropic.ModelsRequests);
        Assert.Equal(1, gemini.ModelsRequests);
    }

    [Fact]
    public async Task A_list_in_the_wrong_format_is_a_failure_for_that_provider_only()
    {
        await using var gemini = await MockProviderServer.StartAsync();
        gemini.ModelsRawBody = """{"data":[{"id":"not-gemini-shaped"}]}""";
        await using var openai = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("gemini", gemini.BaseUrl, "type: gemini"), ("local", openai.BaseUrl, "")));

        Assert.Equal(["local/mock-model"], await IdsAsync(gateway));
    }
}
