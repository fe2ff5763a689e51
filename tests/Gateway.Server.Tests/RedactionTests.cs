using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>redact: the built-in body transform, on events (not raw chunks) and on JSON answers.</summary>
public sealed class RedactionTests
{
    private const string Redact = """
        redact:
          patterns: ['\b\d{3}-\d{2}-\d{4}\b']
          replacement: "[redacted]"
        """;

    private static string Chunk(string content) =>
        "data: " + JsonSerializer.Serialize(new { id = "c", @object = "chat.completion.chunk", choices = new[] { new { index = 0, delta = new { content }, finish_reason = (string?)null } } }) + "\n\n";

    [Fact]
    public async Task PatternSplitAcrossNetworkChunksAndEvents_IsStillRedacted_AndEveryEventStaysValidJson()
    {
        var head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
        var one = Chunk("My SSN is 123-4");
        var two = Chunk("5-6789, thanks");
        var finish = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        // The second event is itself cut in the middle of its JSON between two TCP writes.
        await using var raw = await RawUpstream.StartPiecesAsync(TimeSpan.FromMilliseconds(30),
            Encoding.ASCII.GetBytes(head), Encoding.UTF8.GetBytes(one + two[..20]), Encoding.UTF8.GetBytes(two[20..]), Encoding.UTF8.GetBytes(finish));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Redact, ("raw", raw.BaseUrl)));

        using var response = await gateway.ChatAsync("""{"model":"raw/m","stream":true}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        var payloads = new List<string>();
        while (await events.NextAsync() is { } data)
        {
            payloads.Add(data);
        }

        Assert.Equal("[DONE]", payloads[^1]);
        foreach (var payload in payloads[..^1])
        {
            var delta = JsonDocument.Parse(payload).RootElement.GetProperty("choices")[0].GetProperty("delta");
            if (delta.TryGetProperty("content", out var content))
            {
                text.Append(content.GetString());
            }
        }
        Assert.Equal("My SSN is [redacted], thanks", text.ToString());
        Assert.DoesNotContain(payloads, p => p.Contains("6789", StringComparison.Ordinal));
    }

    [Fact]
    public async Task JsonAnswer_IsRedacted_WithACorrectLength()
    {
        var json = """{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"SSN 123-45-6789 ok"},"finish_reason":"stop"}]}""";
        await using var raw = await RawUpstream.StartAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\nConnection: close\r\n\r\n{json}");
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Redact, ("raw", raw.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"raw/m"}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Encoding.UTF8.GetByteCount(body), response.Content.Headers.ContentLength);
        Assert.Equal("SSN [redacted] ok", JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task ResponseWithoutATransform_IsByteIdenticalToTheUpstreams()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Redact + "\n  models: [\"other/*\"]\n", ("local", mock.BaseUrl)));
        using var direct = new HttpClient();
        var expected = await (await direct.PostAsync(mock.BaseUrl + "/chat/completions", new StringContent("""{"model":"m","stream":true}"""))).Content.ReadAsByteArrayAsync();

        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true}""");

        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
    }
}
