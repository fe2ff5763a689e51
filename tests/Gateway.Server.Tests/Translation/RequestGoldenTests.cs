using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// Request goldens (translation.md §5.5, G11, Z6): each OpenAI request of tests/Fixtures/translation/{type}-requests
/// goes through the gateway, and the body the provider received is compared byte for byte with the golden's
/// <c>.expected</c>; a request the type must refuse has <c>refused: {status} {code} {param}</c> there instead, and
/// reaches no provider.
/// </summary>
public sealed class RequestGoldenTests
{
    public static IEnumerable<object[]> Goldens() =>
        new[] { "anthropic", "gemini" }.SelectMany(type =>
            Directory.GetFiles(TranscriptVectors.Directory(type + "-requests"), "*.json").Order(StringComparer.Ordinal)
                .Select(path => new object[] { type, Path.GetFileNameWithoutExtension(path) }));

    [Theory]
    [MemberData(nameof(Goldens))]
    public async Task The_provider_receives_the_golden_request(string type, string name)
    {
        var directory = TranscriptVectors.Directory(type + "-requests");
        var request = await File.ReadAllTextAsync(Path.Combine(directory, name + ".json"));
        await using var mock = await MockProviderServer.StartAsync();
        if (type == "gemini")
        {
            // Any answer in Gemini's format will do: what is compared is the request.
            mock.Transcripts.Enqueue(TranscriptVectors.Load(type, request.Contains("\"stream\":true", StringComparison.Ordinal) ? "G01-text-growing-usage" : "G14b-response-text"));
        }
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", (type == "anthropic" ? "claude" : type, mock.BaseUrl, $"type: {type}, discover_models: false")));

        using var response = await gateway.PostAsync("/v1/chat/completions", request);
        string actual;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            actual = Encoding.UTF8.GetString(Assert.Single(mock.Requests).Body);
        }
        else
        {
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var e = error.RootElement.GetProperty("error");
            actual = $"refused: {(int)response.StatusCode} {e.GetProperty("code").GetString()} {e.GetProperty("param")}";
            Assert.Empty(mock.Requests);
        }
        TranscriptVectors.AssertExpected(type + "-requests", name, actual);
    }

    public static IEnumerable<object[]> MessagesGoldens() =>
        Directory.GetFiles(TranscriptVectors.Directory("messages-requests"), "*.json").Order(StringComparer.Ordinal)
            .Select(path => new object[] { Path.GetFileNameWithoutExtension(path) });

    /// <summary>/v1/messages requests (a Claude Code-shaped one among them): the OpenAI pivot the provider receives.</summary>
    [Theory]
    [MemberData(nameof(MessagesGoldens))]
    public async Task A_messages_request_reaches_the_provider_as_the_golden_pivot(string name)
    {
        var request = await File.ReadAllTextAsync(Path.Combine(TranscriptVectors.Directory("messages-requests"), name + ".json"));
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/messages?beta=true", request, r => r.Headers.Add("anthropic-beta", "interleaved-thinking-2025-05-14"));
        string actual;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var received = Assert.Single(mock.Requests);
            Assert.False(received.Headers.ContainsKey("anthropic-beta"));
            Assert.Equal("/v1/chat/completions", received.RawTarget);
            actual = Encoding.UTF8.GetString(received.Body) + "\ndropped: " + string.Join(",", response.Headers.TryGetValues("X-Gateway-Dropped-Params", out var d) ? d : []);
        }
        else
        {
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            actual = $"refused: {(int)response.StatusCode} {error.RootElement.GetProperty("error").GetProperty("type").GetString()}";
            Assert.Empty(mock.Requests);
        }
        TranscriptVectors.AssertExpected("messages-requests", name, actual);
    }
}
