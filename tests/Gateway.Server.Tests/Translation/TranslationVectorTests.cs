using Gateway.Core.Providers.Anthropic;
using Gateway.Core.Providers.Azure;
using Gateway.Core.Providers.Gemini;
using Gateway.Core.Providers.Translation;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// The provider → OpenAI vectors of translation.md §5.1–5.3, as transcripts (tests/Fixtures/translation/{type}): each
/// stream translated as its writes cut it, compared byte for byte and checked for every property of §5; the same
/// bytes cut at every offset give the same output; without include_usage only the usage chunk goes.
/// </summary>
public sealed class TranslationVectorTests
{
    // Fixed so that made-up tool-call ids are the same on every run.
    private const ulong IdSeed = 0x5EED;

    private static readonly string[] s_types = ["anthropic", "gemini", "azure"];

    public static IEnumerable<object[]> Streams => s_types.SelectMany(type => TranscriptVectors.Names(type, stream: true).Select(n => new[] { type, n[0] }));

    public static IEnumerable<object[]> Answers => s_types.SelectMany(type => TranscriptVectors.Names(type, stream: false).Select(n => new[] { type, n[0] }));

    private static Func<Stream, Stream> Stream(string type, bool includeUsage) => type switch
    {
        "anthropic" => upstream => new TranslatingStream(upstream, new AnthropicStream(includeUsage, TranscriptVectors.Created)),
        "gemini" => upstream => new TranslatingStream(upstream, new GeminiStream(includeUsage, TranscriptVectors.Created, IdSeed)),
        // Azure passes the client's usage choice through to the provider: its stream is the same either way.
        "azure" => upstream => new TranslatingStream(upstream, new AzureAnswers.Stream("gpt-4o"u8.ToArray(), keepFilterResults: false)),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static Func<Stream, Stream> Answer(string type) => type switch
    {
        "anthropic" => upstream => new TranslatedBody(upstream, new AnthropicMessage(TranscriptVectors.Created)),
        "gemini" => upstream => new TranslatedBody(upstream, new GeminiResponse(TranscriptVectors.Created, IdSeed)),
        "azure" => upstream => new TranslatedBody(upstream, new AzureAnswers.Body("gpt-4o"u8.ToArray(), keepFilterResults: false)),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Stream_translates_to_the_expected_chunks(string type, string name)
    {
        var transcript = TranscriptVectors.Load(type, name);
        var output = await TranscriptVectors.TranslateAsync(Stream(type, includeUsage: true), transcript.Writes.Select(w => w.Bytes));
        TranscriptVectors.AssertExpected(type, name, output);
        OpenAiStream.Read(output);
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Stream_output_does_not_depend_on_how_reads_cut_the_events(string type, string name)
    {
        var body = TranscriptVectors.Load(type, name).Body();
        var whole = await TranscriptVectors.TranslateAsync(Stream(type, includeUsage: true), [body]);
        foreach (var pieces in TranscriptVectors.Splits(body))
        {
            Assert.Equal(whole, await TranscriptVectors.TranslateAsync(Stream(type, includeUsage: true), pieces));
        }
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Without_include_usage_the_stream_has_no_usage_chunk_and_is_otherwise_the_same(string type, string name)
    {
        if (type == "azure")
        {
            return;
        }
        var body = TranscriptVectors.Load(type, name).Body();
        var with = OpenAiStream.Read(await TranscriptVectors.TranslateAsync(Stream(type, includeUsage: true), [body]));
        var without = OpenAiStream.Read(await TranscriptVectors.TranslateAsync(Stream(type, includeUsage: false), [body]));
        Assert.Null(without.Usage);
        Assert.Equal(with with { Usage = null }, without, OpenAiStreamComparer.Instance);
    }

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Answer_translates_to_the_expected_completion(string type, string name)
    {
        var transcript = TranscriptVectors.Load(type, name);
        var output = await TranscriptVectors.TranslateAsync(Answer(type), transcript.Writes.Select(w => w.Bytes));
        TranscriptVectors.AssertExpected(type, name, output);
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
