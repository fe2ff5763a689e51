using System.ClientModel;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// The cross-checks of translation.md §5 over real sockets: every vector that completes, replayed by the mock behind
/// the gateway and read by the official OpenAI .NET SDK, accumulates to the message its expected chunks describe;
/// and a stream and the whole answer of the same message translate to the same result.
/// </summary>
public sealed class TranslationSdkTests
{
    public static IEnumerable<object[]> CompletingStreams() =>
        new[] { "anthropic", "gemini", "azure" }.SelectMany(type => TranscriptVectors.Names(type, stream: true)
            .Select(n => (string)n[0])
            .Where(name => File.ReadAllText(Path.Combine(TranscriptVectors.Directory(type), name + ".expected")).EndsWith("data: [DONE]\n\n", StringComparison.Ordinal))
            .Select(name => new object[] { type, name }));

    private static (string Name, Uri BaseUrl, string Options) Provider(string type, MockProviderServer mock) => type switch
    {
        "azure" => ("p", new Uri(mock.BaseUrl, "/openai/v1"), "type: azure, discover_models: false"),
        _ => ("p", mock.BaseUrl, $"type: {type}, discover_models: false"),
    };

    [Theory]
    [MemberData(nameof(CompletingStreams))]
    public async Task The_sdk_accumulates_the_expected_message(string type, string vector)
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load(type, vector));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", Provider(type, mock)));
        var expected = OpenAiStream.Read(File.ReadAllText(Path.Combine(TranscriptVectors.Directory(type), vector + ".expected")));
        var client = new OpenAIClient(new ApiKeyCredential(TestGateway.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl, "/v1") });

        var content = new StringBuilder();
        var tools = new SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>();
        ChatFinishReason? finish = null;
        await foreach (var update in client.GetChatClient("p/some-model").CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                content.Append(part.Text);
            }
            foreach (var call in update.ToolCallUpdates)
            {
                if (!tools.TryGetValue(call.Index, out var tool))
                {
                    tools[call.Index] = tool = (call.ToolCallId, call.FunctionName, new StringBuilder());
                }
                tool.Arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }

        Assert.Equal(expected.Content, content.ToString());
        Assert.Equal(expected.FinishReason, finish switch
        {
            ChatFinishReason.Stop => "stop",
            ChatFinishReason.Length => "length",
            ChatFinishReason.ToolCalls => "tool_calls",
            ChatFinishReason.ContentFilter => "content_filter",
            _ => null,
        });
        var actual = tools.Values.ToList();
        Assert.Equal(expected.ToolCalls.Count, actual.Count);
        for (int i = 0; i < actual.Count; i++)
        {
            var (id, name, arguments) = expected.ToolCalls[i];
            Assert.Equal(name, actual[i].Name);
            Assert.Equal(arguments, actual[i].Arguments.ToString());
            // Ids the gateway makes up are random per stream; the provider's own ids pass as they came.
            Assert.True(id.StartsWith("call_gw", StringComparison.Ordinal) ? actual[i].Id.StartsWith("call_gw", StringComparison.Ordinal) : actual[i].Id == id);
        }
        Assert.Equal(actual.Count, actual.Select(t => t.Id).Distinct().Count());
    }

    [Theory]
    [InlineData("anthropic", "A20-stream-of-A17", "A17-message-tools-thinking")]
    [InlineData("gemini", "G15-stream-of-G14", "G14-response-calls-and-thoughts")]
    public void A_stream_and_the_whole_answer_of_the_same_message_agree(string type, string stream, string whole)
    {
        var streamed = OpenAiStream.Read(File.ReadAllText(Path.Combine(TranscriptVectors.Directory(type), stream + ".expected")));
        using var answer = JsonDocument.Parse(File.ReadAllText(Path.Combine(TranscriptVectors.Directory(type), whole + ".expected")));
        var choice = answer.RootElement.GetProperty("choices")[0];
        var message = choice.GetProperty("message");

        Assert.Equal(streamed.Content, message.GetProperty("content").GetString() ?? "");
        Assert.Equal(choice.GetProperty("finish_reason").GetString(), streamed.FinishReason);
        var calls = message.TryGetProperty("tool_calls", out var list)
            ? list.EnumerateArray().Select(c => (c.GetProperty("id").GetString()!, c.GetProperty("function").GetProperty("name").GetString()!,
                c.GetProperty("function").GetProperty("arguments").GetString()!)).ToList()
            : [];
        Assert.Equal(calls, streamed.ToolCalls);
        Assert.Equal(answer.RootElement.GetProperty("usage").GetRawText(), streamed.Usage!.Value.GetRawText());
        Assert.Equal(answer.RootElement.GetProperty("id").GetString(), JsonDocument.Parse(
            File.ReadAllText(Path.Combine(TranscriptVectors.Directory(type), stream + ".expected")).Split("\n\n")[0]["data: ".Length..]).RootElement.GetProperty("id").GetString());
    }
}
