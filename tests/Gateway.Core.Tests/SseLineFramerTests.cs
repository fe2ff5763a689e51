using System.Text;
using Gateway.Core.Proxy.Sse;

namespace Gateway.Core.Tests;

/// <summary>The one SSE framer: each framing case once, fed whole, byte by byte and in every two-piece split.</summary>
public sealed class SseLineFramerTests
{
    private sealed class Lines : ISseLineSink
    {
        public List<string> Seen { get; } = [];

        public void OnLine(ReadOnlySpan<byte> line) => Seen.Add(Encoding.UTF8.GetString(line));
    }

    /// <summary>Stream text → the lines it holds (a trailing partial line is not one).</summary>
    public static TheoryData<string, string[]> Cases => new()
    {
        { "data: a\n\n", ["data: a", ""] },
        { "data: a\r\n\r\n", ["data: a", ""] },
        { "data: a\r\rdata: b\r", ["data: a", "", "data: b"] },
        { "data: a\r\n\ndata: b\n\r\n", ["data: a", "", "data: b", ""] },
        { ": ping\n\nevent: error\ndata: {}\n\n", [": ping", "", "event: error", "data: {}", ""] },
        { "data: partial", [] },
        { "data: one\ndata: two", ["data: one"] },
        { "\n\n\n", ["", "", ""] },
        { "data: é ✓\n", ["data: é ✓"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Feed_FramesTheSameLines_HoweverTheReadsCutTheStream(string stream, string[] expected)
    {
        var bytes = Encoding.UTF8.GetBytes(stream);
        Assert.Equal(expected, FeedInPieces(bytes, [bytes.Length]));
        Assert.Equal(expected, FeedInPieces(bytes, Enumerable.Repeat(1, bytes.Length).ToArray()));
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            Assert.Equal(expected, FeedInPieces(bytes, [cut, bytes.Length - cut]));
        }
    }

    private static List<string> FeedInPieces(byte[] bytes, int[] sizes)
    {
        var lines = new Lines();
        var framer = default(SseLineFramer);
        int at = 0;
        foreach (var size in sizes)
        {
            framer.Feed(bytes.AsSpan(at, size), lines);
            at += size;
        }
        framer.Dispose();
        return lines.Seen;
    }

    [Fact]
    public void CrLfSplitAcrossReads_IsOneLineEnd_AndTheFramerIsNotAtALineStartBetweenThem()
    {
        var lines = new Lines();
        var framer = default(SseLineFramer);

        framer.Feed("data: a\r"u8, lines);
        Assert.False(framer.AtLineStart);
        framer.Feed("\n\r"u8, lines);
        framer.Feed("\n"u8, lines);

        Assert.Equal(["data: a", ""], lines.Seen);
        Assert.True(framer.AtLineStart);
        framer.Dispose();
    }

    [Fact]
    public void LineOverTheLimit_IsSkippedWhole_AndTheNextLinesStillArrive()
    {
        var lines = new Lines();
        var framer = new SseLineFramer(maxLineBytes: 16);

        framer.Feed("data: 0123456789"u8, lines);
        framer.Feed("0123456789"u8, lines);
        Assert.False(framer.AtLineStart);
        framer.Feed("tail\ndata: ok\n\n"u8, lines);

        Assert.Equal(["data: ok", ""], lines.Seen);
        Assert.Equal(1, framer.OverflowedLines);
        Assert.True(framer.AtLineStart);
        framer.Dispose();
    }

    [Theory]
    [InlineData("data: {\"a\":1}", true, "{\"a\":1}")]
    [InlineData("data:{\"a\":1}", true, "{\"a\":1}")]
    [InlineData("data:  two spaces", true, " two spaces")]
    [InlineData("data", true, "")]
    [InlineData("data: [DONE]", true, "[DONE]")]
    [InlineData("datum: x", false, "")]
    [InlineData(": data: x", false, "")]
    [InlineData("event: data", false, "")]
    public void DataLines_GiveTheirValue_WithoutOneLeadingSpace(string line, bool isData, string value)
    {
        Assert.Equal(isData, SseLine.TryGetData(Encoding.UTF8.GetBytes(line), out var payload));
        Assert.Equal(value, Encoding.UTF8.GetString(payload));
    }

    [Fact]
    public void NextLine_OverHeldBytes_GivesEachLineWithAndWithoutItsEnd_AndStopsAtAPartialLine()
    {
        ReadOnlySpan<byte> text = "a\r\nb\rc\nd"u8;
        var seen = new List<(string, string)>();
        while (SseLineFramer.NextLine(ref text, out var line, out var withEnd))
        {
            seen.Add((Encoding.UTF8.GetString(line), Encoding.UTF8.GetString(withEnd)));
        }

        Assert.Equal([("a", "a\r\n"), ("b", "b\r"), ("c", "c\n")], seen);
        Assert.Equal("d", Encoding.UTF8.GetString(text));
    }

    [Theory]
    [InlineData("data: a\n\ndata: b\n\ndata: c\n", 18)]
    [InlineData("data: a\r\n\r\ndata: b", 11)]
    [InlineData("data: a\n", 0)]
    [InlineData("", 0)]
    public void CompleteEventsLength_EndsAtTheLastBlankLine(string text, int expected) =>
        Assert.Equal(expected, SseLineFramer.CompleteEventsLength(Encoding.UTF8.GetBytes(text)));
}
