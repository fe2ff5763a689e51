using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Translation;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>A conversation's next turn may land on another replica: the provider state of the last one is there too.</summary>
[Collection(nameof(ScaleOutCollection))]
public sealed class SharedTranslationStateTests
{
    [Fact]
    public async Task Anthropic_signed_thinking_learned_on_one_replica_comes_back_from_another()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A05-thinking-text-tool"));
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A01-text"));
        var providers = $$"""  claude: { type: anthropic, base_url: {{mock.BaseUrl}}, api_key: "${PROVIDER_KEY}", discover_models: false }""";
        await using var replicas = await Replicas.StartAsync(2, redis.Url, mock.BaseUrl, "", providers: providers);

        using (var first = await replicas.Gateways[0].Client.SendAsync(Replicas.Chat(
            """{"model":"claude/claude-sonnet-4-5","stream":true,"reasoning_effort":"medium","messages":[{"role":"user","content":"Weather in Oslo?"}]}""")))
        {
            Assert.Equal("toolu_01Think", OpenAiStream.Read(await first.Content.ReadAsStringAsync()).ToolCalls.Single().Id);
        }

        // Published as the first answer ended; the second replica's next turn carries it (retried while in flight).
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            using var next = await replicas.Gateways[1].Client.SendAsync(Replicas.Chat("""
                {"model":"claude/claude-sonnet-4-5","stream":true,"reasoning_effort":"medium","tools":[{"type":"function","function":{"name":"get_weather"}}],
                 "messages":[{"role":"user","content":"Weather in Oslo?"},
                   {"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_01Think","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
                   {"role":"tool","tool_call_id":"toolu_01Think","content":"4C"}]}
                """));
            await next.Content.ReadAsStringAsync();
            using var sent = JsonDocument.Parse(mock.Requests.Last().Body);
            var assistant = sent.RootElement.GetProperty("messages")[1].GetProperty("content");
            if (assistant[0].GetProperty("type").GetString() == "thinking")
            {
                Assert.Equal("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds", assistant[0].GetProperty("signature").GetString());
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "the second replica never had the thinking block: " + Encoding.UTF8.GetString(mock.Requests.Last().Body));
            await Task.Delay(50);
        }

        // Published, not stored: Redis holds no model output.
        Assert.DoesNotContain("The user wants weather", await redis.CliAsync("KEYS", "*"), StringComparison.Ordinal);
    }
}
