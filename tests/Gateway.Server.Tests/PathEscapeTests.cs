using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>
/// A client chooses the path below /v1/ and a query, nothing more: no request target may send the provider's key to
/// another path of its host, turn bytes into a query or a fragment, or drop the base_url's own query.
/// </summary>
public sealed class PathEscapeTests
{
    private const string Body = """{"model":"p/m","messages":[]}""";
    private const string BaseQuery = "api-version=2024-10-21";

    /// <summary>Kestrel itself refuses the request line (400) before the gateway sees it: no upstream request either.</summary>
    private const string RefusedByKestrel = "400";

    /// <summary>
    /// Raw request target ({host} = the gateway's authority) → the exact target the provider receives, or null: 404
    /// unknown_url and no upstream request.
    /// </summary>
    public static TheoryData<string, string?> Targets => new()
    {
        { "/v1/chat/completions", "/v1/chat/completions?" + BaseQuery },
        { "/v1/embeddings?user=a", "/v1/embeddings?user=a&" + BaseQuery },
        { "/v1/threads/thread_a-1.2/runs", "/v1/threads/thread_a-1.2/runs?" + BaseQuery },
        { "/v1/chat/completions?q=a%20b&x=%3F", "/v1/chat/completions?q=a%20b&x=%3F&" + BaseQuery },
        { "/v1/chat/completions?x=%23frag", "/v1/chat/completions?x=%23frag&" + BaseQuery },
        { "/v1/chat/completions?x=%zz&y=\"<>", "/v1/chat/completions?x=%25zz&y=%22%3C%3E&" + BaseQuery },
        { "/v1/chat/completions?api-version=evil&api%2Dversion=evil2&k=1", "/v1/chat/completions?k=1&" + BaseQuery },
        { "/v1/chat/completions?&&", "/v1/chat/completions?" + BaseQuery },
        { "http://{host}/v1/chat/completions?a=1", "/v1/chat/completions?a=1&" + BaseQuery },
        { "/v1/..%5C..%5Cadmin%5Cpwn", null },
        { "/v1/..\\..\\admin\\pwn", null },
        { "/v1/chat\\completions", null },
        { "/v1/%252e%252e/%252e%252e/other", null },
        { "/v1/%2e%2e/%2e%2e/other", null },
        { "/v1/%2E%2E%2Fadmin", null },
        { "/v1/../../other", null },
        { "/v1/./chat/completions", null },
        { "/v1/chat/../../admin", null },
        { "/v1/chat/completions%3Finjected=1", null },
        { "/v1/chat/completions%23frag", null },
        { "/v1/chat/completions%00", RefusedByKestrel },
        { "/v1/chat/completions%0d%0aX-Injected:1", null },
        { "/v1/chat/completions;x=1", null },
        { "/v1/chat//completions", null },
        { "/v1//chat/completions", null },
        { "//v1/chat/completions", null },
        { "/v1/chat/completions/", null },
        { "/v1/%C0%AE%C0%AE/admin", null },
        { "/v1/%c0%af", null },
        { "/v1/ch%61t/completions", null },
        { "/v1/chat%2Fcompletions", null },
        { "/v1/chat/completions%2F..%2F..%2Fadmin", null },
        { "/v1/ch@t/completions", null },
        { "/v1/chat:completions", null },
        { "http://{host}/v1/..%5Cadmin", null },
        { "http://{host}/v1/%2e%2e/admin", null },
        { "http://{host}", null },
        { "http://example.com/v1/chat/completions", RefusedByKestrel },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task RequestTarget_StaysBelowBaseUrl_OrIs404WithoutUpstreamRequest(string target, string? expectedUpstream)
    {
        await using var mock = await MockProviderServer.StartAsync();
        var baseUrl = new Uri(mock.BaseUrl + "?" + BaseQuery);
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("p", baseUrl)));

        var response = await RawHttpClient.SendAsync(gateway.BaseUrl, "POST", target.Replace("{host}", gateway.BaseUrl.Authority, StringComparison.Ordinal), Body);

        if (expectedUpstream == RefusedByKestrel)
        {
            Assert.Equal(400, response.Status);
            Assert.Empty(mock.Requests);
        }
        else if (expectedUpstream is null)
        {
            Assert.True(response.Status == 404, $"{target}: expected 404, got {response.Status}: {response.Body}");
            Assert.Contains("\"code\":\"unknown_url\"", response.Body, StringComparison.Ordinal);
            Assert.Contains("\"type\":\"invalid_request_error\"", response.Body, StringComparison.Ordinal);
            Assert.Empty(mock.Requests);
        }
        else
        {
            Assert.True(response.Status == 200, $"{target}: expected 200, got {response.Status}: {response.Body}");
            Assert.Equal(expectedUpstream, Assert.Single(mock.Requests).RawTarget);
        }
    }
}
