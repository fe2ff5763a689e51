using System.Text;
using Anthropic;
using Anthropic.Models.Messages;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests.Translation;

/// <summary>The official Anthropic .NET SDK, unchanged, with its base URL pointed at the gateway's /v1/messages.</summary>
public sealed class AnthropicSdkTests
{
    private static AnthropicClient Client(TestGateway gateway) =>
        new() { ApiKey = TestGateway.ClientKey, BaseUrl = gateway.BaseUrl.ToString().TrimEnd('/'), MaxRetries = 0 };

    private static MessageCreateParams Request(string model) => new()
    {
        Model = model,
        MaxTokens = 100,
        Messages = [new UserMessageParam { Content = "Weather in Paris?" }],
    };

    [Fact]
    public async Task Create_and_streaming_reach_an_openai_provider_and_accumulate()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        var client = Client(gateway);

        var message = await client.Messages.Create(Request("local/gpt-4o"));
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from the mock provider.", text!.Text);
        Assert.Equal("end_turn", message.StopReason?.Raw());
        Assert.Equal(6, message.Usage.OutputTokens);

        var streamed = new StringBuilder();
        long outputTokens = 0;
        await foreach (var @event in client.Messages.CreateStreaming(Request("local/gpt-4o")))
        {
            if (@event.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var textDelta))
            {
                streamed.Append(textDelta!.Text);
            }
            if (@event.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta!.Usage.OutputTokens;
            }
        }
        Assert.Equal("tok0 tok1 tok2 tok3 tok4 ", streamed.ToString());
        Assert.Equal(5, outputTokens);
    }

    [Fact]
    public async Task A_tool_call_from_a_gemini_provider_reaches_the_sdk_as_tool_use_with_parsed_input()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("gemini", "G02-one-call-with-stop"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("gemini", mock.BaseUrl, "type: gemini, discover_models: false")));

        string? tool = null, arguments = null;
        string? stop = null;
        var json = new StringBuilder();
        await foreach (var @event in Client(gateway).Messages.CreateStreaming(Request("gemini/gemini-2.5-flash")))
        {
            if (@event.TryPickContentBlockStart(out var start) && start!.ContentBlock.TryPickToolUse(out var use))
            {
                tool = use!.Name;
            }
            if (@event.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickInputJson(out var input))
            {
                json.Append(input!.PartialJson);
            }
            if (@event.TryPickDelta(out var messageDelta))
            {
                stop = messageDelta!.Delta.StopReason?.Raw();
            }
        }
        arguments = json.ToString();
        Assert.Equal("get_weather", tool);
        Assert.Equal("tool_use", stop);
        using var parsed = System.Text.Json.JsonDocument.Parse(arguments);
        Assert.Equal("Paris", parsed.RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public async Task An_error_status_surfaces_as_the_sdks_exception()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Status = 500 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl, "retries: 0")));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Client(gateway).Messages.Create(Request("local/gpt-4o")));
        Assert.Contains("500", error.ToString(), StringComparison.Ordinal);
    }
}
