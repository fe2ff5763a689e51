using Gateway.Core.Ingress.Anthropic;
using Gateway.Core.Providers.Translation;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// The reverse vectors of translation.md §5.4 (R1–R9): OpenAI-compatible streams (tests/Fixtures/translation/messages)
/// translated for a /v1/messages client, compared byte for byte with the expected events, checked for every §3.3
/// rule, and cut at every byte offset with the same result.
/// </summary>
public sealed class MessagesVectorTests
{
    private const string Type = "messages";

    public static IEnumerable<object[]> Streams => TranscriptVectors.Names(Type, stream: true);

    private static MessagesFacts Facts(string name) => new("claude-sonnet-4-5", name.StartsWith("R09", StringComparison.Ordinal)
        ? new Dictionary<string, string> { ["mcp__github__search_repositories_with_a_very_long_descr_8e168853"] = "mcp__github__search_repositories_with_a_very_long_descriptive_tool_name_x" }
        : null, null);

    private static Func<Stream, Stream> Translate(string name) => upstream => new TranslatingStream(upstream, new MessagesStream(Facts(name)));

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Stream_translates_to_the_expected_events(string name)
    {
        var transcript = TranscriptVectors.Load(Type, name);
        var output = await TranscriptVectors.TranslateAsync(Translate(name), transcript.Writes.Select(w => w.Bytes));
        TranscriptVectors.AssertExpected(Type, name, output);
        // The harness marks a broken stream with an OpenAI error line: what the relay then writes is an Anthropic error event.
        var events = AnthropicEvents.Read(output.Replace("data: {\"error\":{\"code\":\"stream_interrupted\"", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"", StringComparison.Ordinal));
        Assert.True(events.Stopped || events.Error is not null || !output.Contains("message_start", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Stream_output_does_not_depend_on_how_reads_cut_the_events(string name)
    {
        var body = TranscriptVectors.Load(Type, name).Body();
        var whole = await TranscriptVectors.TranslateAsync(Translate(name), [body]);
        foreach (var pieces in TranscriptVectors.Splits(body))
        {
            Assert.Equal(whole, await TranscriptVectors.TranslateAsync(Translate(name), pieces));
        }
    }
}
