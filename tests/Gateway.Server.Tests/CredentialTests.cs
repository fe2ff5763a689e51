using System.Net;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

public sealed class CredentialTests
{
    [Fact]
    public async Task ProviderKey_ReplacesClientCredentials_WhichNeverReachTheProvider()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", request =>
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestGateway.ClientKey);
            request.Headers.TryAddWithoutValidation("x-api-key", TestGateway.ClientKey);
            request.Headers.TryAddWithoutValidation("api-key", TestGateway.ClientKey);
            request.Headers.TryAddWithoutValidation("Cookie", "session=" + TestGateway.ClientKey);
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", "10.0.0.1");
            request.Headers.TryAddWithoutValidation("OpenAI-Organization", "org-client");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = mock.LastRequest.Headers;
        Assert.Equal("Bearer " + TestGateway.ProviderKey, seen["Authorization"]);
        Assert.DoesNotContain(seen, h => h.Value.Contains(TestGateway.ClientKey, StringComparison.Ordinal));
        Assert.False(seen.ContainsKey("X-Forwarded-For"));
        Assert.False(seen.ContainsKey("OpenAI-Organization"));
    }

    [Fact]
    public async Task ProviderWithoutKey_GetsNoAuthorizationHeader()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            server: { host: 127.0.0.1, port: 0 }
            providers:
              local: { type: openai, base_url: {{mock.BaseUrl}} }
            """);

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""",
            request => request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestGateway.ClientKey));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(mock.LastRequest.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task ConfiguredHeaders_AreSent_AndAllowedClientHeadersForwarded()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            server: { host: 127.0.0.1, port: 0 }
            providers:
              local: { type: openai, base_url: {{mock.BaseUrl}}, headers: { OpenAI-Organization: org-123, X-Title: Gateway } }
            """);

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", request =>
        {
            request.Headers.TryAddWithoutValidation("X-Request-Id", "client-id-42");
            request.Headers.TryAddWithoutValidation("OpenAI-Beta", "assistants=v2");
            request.Headers.TryAddWithoutValidation("Connection", "OpenAI-Beta");
        });

        var seen = mock.LastRequest.Headers;
        Assert.Equal("org-123", seen["OpenAI-Organization"]);
        Assert.Equal("Gateway", seen["X-Title"]);
        Assert.Equal("client-id-42", seen["X-Request-Id"]);
        Assert.Equal("client-id-42", response.Headers.GetValues("X-Request-Id").Single());
        // Named in Connection: hop-by-hop for this request, so not forwarded.
        Assert.False(seen.ContainsKey("OpenAI-Beta"));
    }

    [Fact]
    public async Task RequestId_IsGenerated_WhenAbsentOrUnsafe()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var plain = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
        using var unsafeId = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""",
            request => request.Headers.TryAddWithoutValidation("X-Request-Id", "bad id with spaces"));

        var first = plain.Headers.GetValues("X-Request-Id").Single();
        var second = unsafeId.Headers.GetValues("X-Request-Id").Single();
        Assert.StartsWith("gw-", first, StringComparison.Ordinal);
        Assert.StartsWith("gw-", second, StringComparison.Ordinal);
        Assert.NotEqual(first, second);
        Assert.Equal(second, mock.LastRequest.Headers["X-Request-Id"]);
    }
}

/// <summary>RFC 9110 §7.6.1: every header named in any Connection value is hop-by-hop, whatever else the value lists.</summary>
public sealed class ConnectionHeaderTests
{
    public static TheoryData<string, string> NamedHeaders => new()
    {
        { "Connection: User-Agent", "User-Agent" },
        { "Connection: keep-alive, User-Agent", "User-Agent" },
        { "Connection: close, OpenAI-Beta", "OpenAI-Beta" },
        { "Connection: upgrade, Accept-Language", "Accept-Language" },
        { "Connection: keep-alive,user-agent", "User-Agent" },
        { "Connection: keep-alive , OPENAI-BETA ,", "OpenAI-Beta" },
        { "Connection: keep-alive\r\nConnection: Idempotency-Key", "Idempotency-Key" },
        { "Connection: TE, keep-alive, Accept", "Accept" },
    };

    [Theory]
    [MemberData(nameof(NamedHeaders))]
    public async Task HeaderNamedInConnection_IsNeverForwarded(string connection, string named)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        var response = await RawHttpClient.SendAsync(gateway.BaseUrl, "POST", "/v1/chat/completions", """{"model":"local/m"}""",
            connection, "User-Agent: probe/1.0", "OpenAI-Beta: assistants=v2", "Accept-Language: de", "Idempotency-Key: k-1", "Accept: application/json");

        Assert.Equal(200, response.Status);
        var seen = mock.LastRequest.Headers;
        Assert.False(seen.ContainsKey(named), $"{named} was forwarded although '{connection}' names it");
        // The others still pass (the allow-list is unchanged).
        Assert.Equal(4, new[] { "User-Agent", "OpenAI-Beta", "Accept-Language", "Idempotency-Key", "Accept" }.Count(seen.ContainsKey));
        // A close the client asked for still ends the connection.
        Assert.Equal(connection.Contains("close", StringComparison.Ordinal), response.Head.Contains("Connection: close", StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>The Connection header as the gateway decodes it: the three tokens Kestrel would collapse on get a marker, nothing else changes.</summary>
public sealed class ConnectionHeaderDecodingTests
{
    [Theory]
    [InlineData("keep-alive", "~keep-alive")]
    [InlineData("Keep-Alive, User-Agent", "~Keep-Alive, User-Agent")]
    [InlineData("close,OpenAI-Beta", "~close,OpenAI-Beta")]
    [InlineData(" upgrade , X ,", " ~upgrade , X ,")]
    [InlineData("TE, keep-alive\t, Accept", "TE, ~keep-alive\t, Accept")]
    [InlineData("User-Agent", "User-Agent")]
    [InlineData("keep-alives, closed", "keep-alives, closed")]
    [InlineData("", "")]
    public void KnownTokens_GetAMarker_AndEveryOtherByteStays(string sent, string decoded)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(sent);

        Assert.Equal(decoded, Gateway.Server.Http.ConnectionHeaderDecoding.Instance.GetString(bytes.AsSpan()));
        Assert.Equal(decoded, Gateway.Server.Http.ConnectionHeaderDecoding.Instance.GetString(bytes));
    }

    [Fact]
    public void NonAscii_IsRefused() =>
        Assert.Throws<System.Text.DecoderFallbackException>(() => Gateway.Server.Http.ConnectionHeaderDecoding.Instance.GetString("close, é"u8.ToArray()));
}
