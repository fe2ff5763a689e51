using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Server.Tests.Translation;

/// <summary>type: azure through real sockets: URLs and headers of both APIs, Azure's additions taken out, its errors.</summary>
public sealed class AzureProviderTests
{
    private static Uri Root(MockProviderServer mock, string path) => new(mock.BaseUrl, path);

    private static Transcript Json(int status, string body, params (string Name, string Value)[] headers)
    {
        var head = new Dictionary<string, string> { ["content-type"] = "application/json" };
        foreach (var (name, value) in headers)
        {
            head[name] = value;
        }
        return Transcript.Parse([JsonSerializer.Serialize(new { status, headers = head }), JsonSerializer.Serialize(new { raw = body })]);
    }

    [Fact]
    public async Task Classic_and_v1_apis_get_their_urls_headers_and_deployment_and_the_sdk_reads_a_filtered_stream()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("azure", "Z01-prompt-filter-chunk-and-fields"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("azure", Root(mock, "/openai"), "type: azure, api_version: \"2024-10-21\", deployments: { gpt-4o: my-gpt4o }, discover_models: false"),
            ("azurev1", Root(mock, "/openai/v1"), "type: azure, deployments: { gpt-4o: my-gpt4o }, discover_models: false")));
        var client = new OpenAIClient(new ApiKeyCredential(TestGateway.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl, "/v1") });

        var text = new StringBuilder();
        await foreach (var update in client.GetChatClient("azure/gpt-4o").CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            Assert.Equal("gpt-4o", update.Model);
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }
        Assert.Equal("Hello world", text.ToString());
        using (var v1 = await gateway.ChatAsync("""{"model":"azurev1/gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}"""))
        {
            var body = await v1.Content.ReadAsStringAsync();
            Assert.DoesNotContain("filter", body, StringComparison.Ordinal);
            Assert.Equal("Hello world", OpenAiStream.Read(body).Content);
        }

        var requests = mock.Requests.ToList();
        Assert.Equal("/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21", requests[0].RawTarget);
        Assert.Equal("/openai/v1/chat/completions", requests[1].RawTarget);
        Assert.All(requests, r =>
        {
            Assert.Equal(TestGateway.ProviderKey, r.Headers["api-key"]);
            Assert.False(r.Headers.ContainsKey("Authorization"));
            using var body = JsonDocument.Parse(r.Body);
            Assert.Equal("my-gpt4o", body.RootElement.GetProperty("model").GetString());
        });
    }

    [Fact]
    public async Task Filter_results_stay_when_asked_for_and_a_whole_answer_names_the_served_model()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("azure", "Z08-whole-answer"));
        mock.Transcripts.Enqueue(TranscriptVectors.Load("azure", "Z08-whole-answer"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("plain", Root(mock, "/openai/v1"), "type: azure, discover_models: false"),
            ("kept", Root(mock, "/openai/v1"), "type: azure, azure_filter_results: true, discover_models: false")));

        using var plain = await gateway.ChatAsync("""{"model":"plain/gpt-4o","messages":[{"role":"user","content":"Hi"}]}""");
        var plainBody = await plain.Content.ReadAsStringAsync();
        Assert.DoesNotContain("filter_results", plainBody, StringComparison.Ordinal);
        Assert.Contains("\"model\":\"gpt-4o\"", plainBody, StringComparison.Ordinal);
        Assert.Null(plain.Content.Headers.ContentLength is { } length && length != Encoding.UTF8.GetByteCount(plainBody) ? length : null);

        using var kept = await gateway.ChatAsync("""{"model":"kept/gpt-4o","messages":[{"role":"user","content":"Hi"}]}""");
        Assert.Contains("prompt_filter_results", await kept.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_filtered_prompt_is_the_clients_400_without_fallback_and_a_429_honours_retry_after_ms()
    {
        await using var azure = await MockProviderServer.StartAsync();
        await using var openai = await MockProviderServer.StartAsync();
        var strategies = "strategies:\n  smart: { targets: [azure/gpt-4o, local/gpt-4o] }\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("azure", Root(azure, "/openai/v1"), "type: azure, discover_models: false, retries: 0, max_retry_wait: 0s"),
            ("local", openai.BaseUrl, "discover_models: false")));

        azure.Transcripts.Enqueue(Json(400,
            """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}"""));
        using (var filtered = await gateway.ChatAsync("""{"model":"smart","messages":[{"role":"user","content":"Hi"}]}"""))
        {
            var body = await filtered.Content.ReadAsStringAsync();
            Assert.DoesNotContain("innererror", body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.BadRequest, filtered.StatusCode);
            Assert.Equal("content_filter", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Empty(openai.Requests);
        }

        azure.Transcripts.Enqueue(Json(429, """{"error":{"code":"429","message":"Rate limit is exceeded."}}""", ("retry-after-ms", "1500"), ("retry-after", "30")));
        using var limited = await gateway.ChatAsync("""{"model":"azure/gpt-4o","messages":[{"role":"user","content":"Hi"}]}""");
        await OpenAiAssert.ErrorAsync(limited, HttpStatusCode.TooManyRequests, "upstream_rate_limited");
        Assert.Equal("2", limited.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task The_model_list_is_the_configured_deployments_without_a_request()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("azure", Root(mock, "/openai/v1"), "type: azure, deployments: { gpt-4o: my-gpt4o, gpt-4o-mini: mini }")));

        await gateway.WaitForCatalogAsync(c => c.Revision >= 1);
        var body = await gateway.Client.GetStringAsync("/v1/models");
        Assert.Contains("\"azure/gpt-4o\"", body, StringComparison.Ordinal);
        Assert.Contains("\"azure/gpt-4o-mini\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("my-gpt4o", body, StringComparison.Ordinal);
        Assert.Equal(0, mock.ModelsRequests);
    }

    [Fact]
    public async Task Embeddings_go_to_the_deployment_and_name_the_served_model()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Json(200, """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]}],"model":"text-embedding-3-small-base","usage":{"prompt_tokens":2,"total_tokens":2}}"""));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("azure", Root(mock, "/openai"), "type: azure, api_version: \"2024-10-21\", deployments: { text-embedding-3-small: emb }, discover_models: false")));

        using var response = await gateway.PostAsync("/v1/embeddings", """{"model":"azure/text-embedding-3-small","input":"hi","encoding_format":"float"}""");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("text-embedding-3-small", json.RootElement.GetProperty("model").GetString());
        Assert.Equal("[0.5,0.25]", json.RootElement.GetProperty("data")[0].GetProperty("embedding").GetRawText());
        var sent = Assert.Single(mock.Requests);
        Assert.Equal("/openai/deployments/emb/embeddings?api-version=2024-10-21", sent.RawTarget);
        Assert.Equal("emb", JsonDocument.Parse(sent.Body).RootElement.GetProperty("model").GetString());
    }
}
