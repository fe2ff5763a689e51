using System.Text;
using Gateway.Core.Proxy;

namespace Gateway.Core.Tests;

public sealed class SseScannerTests
{
    private const string Stream =
        ": ping\n\n" +
        "data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"say \\\"finish_reason\\\":\\\"stop\\\"\"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\": \"stop\"}]}\r\n\r\n" +
        "data: [DONE]\n\n";

    [Fact]
    public void EveryBytewiseSplit_GivesTheSameVerdicts()
    {
        var bytes = Encoding.UTF8.GetBytes(Stream);
        for (int split = 0; split <= bytes.Length; split++)
        {
            using var scanner = new SseScanner();
            scanner.Append(bytes.AsSpan(0, split));
            scanner.Append(bytes.AsSpan(split));
            Assert.True(scanner.SawFinishReason, $"split at {split}");
            Assert.True(scanner.SawDone, $"split at {split}");
            Assert.True(scanner.AtEventBoundary, $"split at {split}");
        }
    }

    [Fact]
    public void TextThatLooksLikeAFinishReason_IsNotOne()
    {
        using var scanner = new SseScanner();
        scanner.Append(Encoding.UTF8.GetBytes(Stream.Split("\n\n")[1] + "\n\n"));

        Assert.False(scanner.IsComplete);
    }

    [Theory]
    [InlineData("data: {\"x\":1}\n", false)]
    [InlineData("data: {\"x\":1}\n\n", true)]
    [InlineData("data: {\"x\":1", false)]
    [InlineData("", true)]
    public void EventBoundary_IsOnlyAfterABlankLine(string text, bool boundary)
    {
        using var scanner = new SseScanner();
        scanner.Append(Encoding.UTF8.GetBytes(text));

        Assert.Equal(boundary, scanner.AtEventBoundary);
    }

    [Theory]
    [InlineData("\"finish_reason\":null", false)]
    [InlineData("\"finish_reason\" : null", false)]
    [InlineData("\"finish_reason\":\"length\"", true)]
    [InlineData("\"finish_reason\":null},{\"finish_reason\":\"stop\"", true)]
    public void FinishReason_MustBeNonNull(string json, bool expected) =>
        Assert.Equal(expected, SseScanner.HasFinishReason(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData(": ping\n\ndata: {\"choices\":[]}\n", FirstEventKind.Content)]
    [InlineData("data: {\"error\":{\"message\":\"overloaded\"}}\n", FirstEventKind.Error)]
    [InlineData("event: error\ndata: {\"message\":\"x\"}\n", FirstEventKind.Error)]
    [InlineData("data: {\"error\":null,\"choices\":[]}\n", FirstEventKind.Content)]
    [InlineData("data: {\"error\"", FirstEventKind.NeedMore)]
    [InlineData(": only a comment\n\n", FirstEventKind.NeedMore)]
    public void FirstEvent_TellsContentFromError(string buffered, object expected) =>
        Assert.Equal((FirstEventKind)expected, FirstEvent.Inspect(Encoding.UTF8.GetBytes(buffered)));
}
