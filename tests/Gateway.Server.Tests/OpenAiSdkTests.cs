using System.ClientModel;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Server.Tests;

/// <summary>The official OpenAI .NET SDK, unchanged, with its base URL pointed at the gateway.</summary>
public sealed class OpenAiSdkTests
{
    [Fact]
    public async Task Sdk_ChatCompletion_Streaming_AndEmbeddings_Work()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        var client = new OpenAIClient(new ApiKeyCredential(TestGateway.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl, "/v1") });
        var chat = client.GetChatClient("local/gpt-4o");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello")]);
        Assert.Equal("Hello from the mock provider.", completion.Content[0].Text);
        Assert.Equal("gpt-4o", completion.Model);

        var streamed = new System.Text.StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
        }
        Assert.Equal("tok0 tok1 tok2 tok3 tok4 ", streamed.ToString());

        var embeddings = client.GetEmbeddingClient("local/text-embedding-3-small");
        var embedding = await embeddings.GenerateEmbeddingAsync("Hello");
        Assert.Equal(3, embedding.Value.ToFloats().Length);

        Assert.All(mock.Requests, r => Assert.Equal("Bearer " + TestGateway.ProviderKey, r.Headers["Authorization"]));
    }
}
