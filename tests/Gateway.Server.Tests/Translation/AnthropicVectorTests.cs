using Gateway.Core.Providers.Anthropic;
using Gateway.Core.Providers.Translation;

namespace Gateway.Server.Tests.Translation;

/// <summary>The Anthropic → OpenAI vectors of translation.md §5.1, as transcripts (tests/Fixtures/translation/anthropic).</summary>
public sealed class AnthropicVectorTests
{
    private const string Type = "anthropic";

    public static IEnumerable<object[]> Streams => TranscriptVectors.Names(Type, stream: true);

    public static IEnumerable<object[]> Messages => TranscriptVectors.Names(Type, stream: false);

    private static Func<Stream, Stream> Stream(bool includeUsage) =>
        upstream => new TranslatingStream(upstream, new AnthropicStream(includeUsage, TranscriptVectors.Created));

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Stream_translates_to_the_expected_chunks(string name)
    {
        var transcript = TranscriptVectors.Load(Type, name);
        var output = await TranscriptVectors.TranslateAsync(Stream(includeUsage: true), transcript.Writes.Select(w => w.Bytes));
        TranscriptVectors.AssertExpected(Type, name, output);
        OpenAiStream.Read(output);
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Stream_output_does_not_depend_on_how_reads_cut_the_events(string name)
    {
        var body = TranscriptVectors.Load(Type, name).Body();
        var whole = await TranscriptVectors.TranslateAsync(Stream(includeUsage: true), [body]);
        foreach (var pieces in TranscriptVectors.Splits(body))
        {
            Assert.Equal(whole, await TranscriptVectors.TranslateAsync(Stream(includeUsage: true), pieces));
        }
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Without_include_usage_the_stream_has_no_usage_chunk_and_is_otherwise_the_same(string name)
    {
        var body = TranscriptVectors.Load(Type, name).Body();
        var with = OpenAiStream.Read(await TranscriptVectors.TranslateAsync(Stream(includeUsage: true), [body]));
        var without = OpenAiStream.Read(await TranscriptVectors.TranslateAsync(Stream(includeUsage: false), [body]));
        Assert.Null(without.Usage);
        Assert.Equal(with with { Usage = null }, without, OpenAiStreamComparer.Instance);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task Message_translates_to_the_expected_completion(string name)
    {
        var transcript = TranscriptVectors.Load(Type, name);
        var output = await TranscriptVectors.TranslateAsync(
            upstream => new TranslatedBody(upstream, new AnthropicMessage(TranscriptVectors.Created)), transcript.Writes.Select(w => w.Bytes));
        TranscriptVectors.AssertExpected(Type, name, output);
    }
}

/// <summary>Compares accumulated streams by value (tool-call lists element by element).</summary>
internal sealed class OpenAiStreamComparer : IEqualityComparer<OpenAiStream>
{
    public static readonly OpenAiStreamComparer Instance = new();

    public bool Equals(OpenAiStream? x, OpenAiStream? y) =>
        x is not null && y is not null && x.Content == y.Content && x.ToolCalls.SequenceEqual(y.ToolCalls) && x.FinishReason == y.FinishReason
        && x.Done == y.Done && x.Error == y.Error && (x.Usage?.GetRawText() ?? "") == (y.Usage?.GetRawText() ?? "");

    public int GetHashCode(OpenAiStream obj) => obj.Content.GetHashCode(StringComparison.Ordinal);
}
