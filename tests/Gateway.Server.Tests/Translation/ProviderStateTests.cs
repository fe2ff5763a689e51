using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// Provider state an OpenAI client cannot carry — Anthropic's signed thinking, Gemini's thought signatures — kept by
/// the gateway under the tool-call id and given back with the next turn that carries that id.
/// </summary>
public sealed class ProviderStateTests
{
    [Fact]
    public async Task Anthropic_thinking_comes_back_first_in_the_tool_calling_turn_and_keeps_thinking_on()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A05-thinking-text-tool"));
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A01-text"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, "type: anthropic, discover_models: false")));

        using (var first = await gateway.ChatAsync("""{"model":"claude/claude-sonnet-4-5","stream":true,"reasoning_effort":"medium","messages":[{"role":"user","content":"Weather in Oslo?"}]}"""))
        {
            Assert.Equal("toolu_01Think", OpenAiStream.Read(await first.Content.ReadAsStringAsync()).ToolCalls.Single().Id);
        }
        using var next = await gateway.ChatAsync("""
            {"model":"claude/claude-sonnet-4-5","stream":true,"reasoning_effort":"medium","tools":[{"type":"function","function":{"name":"get_weather"}}],
             "messages":[{"role":"user","content":"Weather in Oslo?"},
               {"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_01Think","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
               {"role":"tool","tool_call_id":"toolu_01Think","content":"4C"}]}
            """);
        await next.Content.ReadAsStringAsync();

        using var sent = JsonDocument.Parse(mock.Requests.Last().Body);
        var assistant = sent.RootElement.GetProperty("messages")[1].GetProperty("content");
        Assert.Equal(
            """{"type":"thinking","thinking":"The user wants weather; call the tool.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}""",
            assistant[0].GetRawText());
        Assert.Equal("text", assistant[1].GetProperty("type").GetString());
        Assert.Equal("tool_use", assistant[2].GetProperty("type").GetString());
        Assert.Equal("enabled", sent.RootElement.GetProperty("thinking").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_gemini_calls_thought_signature_comes_back_on_the_next_turn()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("gemini", "G04-call-then-separate-stop"));
        mock.Transcripts.Enqueue(TranscriptVectors.Load("gemini", "G01-text-growing-usage"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("gemini", mock.BaseUrl, "type: gemini, discover_models: false")));

        string id;
        using (var first = await gateway.ChatAsync("""{"model":"gemini/gemini-3-pro","stream":true,"messages":[{"role":"user","content":"Search x"}]}"""))
        {
            id = OpenAiStream.Read(await first.Content.ReadAsStringAsync()).ToolCalls.Single().Id;
        }
        using var next = await gateway.ChatAsync("""
            {"model":"gemini/gemini-3-pro","stream":true,"messages":[{"role":"user","content":"Search x"},
              {"role":"assistant","tool_calls":[{"id":"@ID@","type":"function","function":{"name":"search","arguments":"{\"q\":\"x\"}"}}]},
              {"role":"tool","tool_call_id":"@ID@","content":"found"}]}
            """.Replace("@ID@", id, StringComparison.Ordinal));
        await next.Content.ReadAsStringAsync();

        var sent = Encoding.UTF8.GetString(mock.Requests.Last().Body);
        Assert.Contains("""{"functionCall":{"name":"search","args":{"q":"x"}},"thoughtSignature":"CiQBsignatureG4"}""", sent, StringComparison.Ordinal);
        Assert.DoesNotContain(id, sent, StringComparison.Ordinal);
    }
}
