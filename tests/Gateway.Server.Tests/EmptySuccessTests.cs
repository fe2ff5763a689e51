using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>
/// A provider that answers 2xx but never delivers content is a failed attempt, never a clean empty success: a direct
/// request gets the error table's status, a strategy falls back, and the request log names what happened.
/// </summary>
public sealed class EmptySuccessTests
{
    private const string StreamHeaders = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    // The raw upstream serves one connection at a time: no model discovery ahead of the request.
    private const string Options = "retries: 0, first_token_timeout: 300ms, discover_models: false";

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] Chunk(string text) => Ascii($"{Encoding.UTF8.GetByteCount(text):x}\r\n{text}\r\n");

    /// <summary>Upstream behaviours (headers arrive, content never does) → the status and code a direct request gets.</summary>
    public static TheoryData<string, int, string> Silent2xx => new()
    {
        { "stream-no-event", 504, "upstream_timeout" },
        { "stream-only-pings", 504, "upstream_timeout" },
        { "chunked-json-no-body", 504, "upstream_timeout" },
        { "content-length-100-nothing-sent", 504, "upstream_timeout" },
        { "content-length-100-closed", 502, "upstream_bad_response" },
        { "content-length-0", 502, "upstream_bad_response" },
        { "chunked-json-empty", 502, "upstream_bad_response" },
        { "stream-first-event-error", 502, "upstream_bad_response" },
        { "stream-closed-before-event", 502, "upstream_bad_response" },
    };

    private static Task<RawUpstream> StartAsync(string behaviour)
    {
        // Longer than first_token_timeout: the upstream keeps the connection open and silent.
        var hold = TimeSpan.FromSeconds(2);
        return behaviour switch
        {
            "stream-no-event" => RawUpstream.StartPiecesAsync(hold, Ascii(StreamHeaders), []),
            "stream-only-pings" => RawUpstream.StartPiecesAsync(TimeSpan.FromMilliseconds(100),
                [Ascii(StreamHeaders), .. Enumerable.Repeat(Chunk(": ping\n\n"), 10)]),
            "chunked-json-no-body" => RawUpstream.StartPiecesAsync(hold,
                Ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"), []),
            "content-length-100-nothing-sent" => RawUpstream.StartPiecesAsync(hold,
                Ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"), []),
            "content-length-100-closed" => RawUpstream.StartAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"),
            "content-length-0" => RawUpstream.StartAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"),
            "chunked-json-empty" => RawUpstream.StartAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            "stream-first-event-error" => RawUpstream.StartAsync(StreamHeaders
                + Encoding.ASCII.GetString(Chunk("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n")) + "0\r\n\r\n"),
            "stream-closed-before-event" => RawUpstream.StartAsync(StreamHeaders + "0\r\n\r\n"),
            _ => throw new ArgumentOutOfRangeException(nameof(behaviour)),
        };
    }

    private static string Request(string behaviour, string model) =>
        behaviour.StartsWith("stream", StringComparison.Ordinal)
            ? $$"""{"model":"{{model}}","stream":true,"messages":[]}"""
            : $$"""{"model":"{{model}}","messages":[]}""";

    [Theory]
    [MemberData(nameof(Silent2xx))]
    public async Task DirectRequest_2xxWithoutContent_IsTheErrorTablesStatus_AndTheRequestLogSaysWhy(string behaviour, int status, string code)
    {
        await using var upstream = await StartAsync(behaviour);
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("request_log: { format: json }\n", ("raw", upstream.BaseUrl, Options)));

        using var response = await gateway.PostAsync("/v1/chat/completions", Request(behaviour, "raw/m"));

        await OpenAiAssert.ErrorAsync(response, (HttpStatusCode)status, code);
        await gateway.Logs.WaitForAsync(l => l.Contains("Gateway.Requests", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var line = gateway.Logs.Lines.Single(l => l.Contains("Gateway.Requests", StringComparison.Ordinal));
        var record = JsonDocument.Parse(line[line.IndexOf('{', StringComparison.Ordinal)..].Trim()).RootElement;
        Assert.Equal(status, record.GetProperty("status").GetInt32());
        Assert.Equal(code, record.GetProperty("error").GetString());
    }

    [Theory]
    [MemberData(nameof(Silent2xx))]
    public async Task Strategy_2xxWithoutContent_FallsBackToTheNextTarget(string behaviour, int status, string code)
    {
        _ = (status, code);
        await using var upstream = await StartAsync(behaviour);
        await using var healthy = await MockProviderServer.StartAsync();
        var strategies = "strategies:\n  smart: { targets: [raw/m, ok/m] }\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies, ("raw", upstream.BaseUrl, Options), ("ok", healthy.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", Request(behaviour, "smart"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok/m", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Equal("2", response.Headers.GetValues("X-Gateway-Attempts").Single());
        Assert.NotEmpty(await response.Content.ReadAsStringAsync());
    }
}
