using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>Authentication, per-key limits, the request log and header rules, in front of a real mock provider.</summary>
public sealed class TransportMiddlewareTests
{
    private const string TeamKey = "team-a-key-0123456789";
    private const string OtherKey = "team-b-key-9876543210";

    private static readonly Func<string, string?> s_environment =
        TestGateway.Environment(("TEAM_A_KEY", TeamKey), ("TEAM_B_KEY", OtherKey));

    private static string Auth(string limits = "") => $$"""
        auth:
          keys:
            - { name: team-a, key: "${TEAM_A_KEY}", models: ["local/*", "smart", "other/gpt-4o"]{{limits}} }
            - { name: team-b, key: "${TEAM_B_KEY}" }
        strategies:
          smart: { targets: [local/m] }

        """;

    private static Action<HttpRequestMessage> Bearer(string key) =>
        request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);

    [Fact]
    public async Task MissingOrUnknownKey_Is401_InOpenAiShape_AndNothingIsForwarded()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth(), ("local", mock.BaseUrl)), environment: s_environment);

        using var missing = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
        using var wrong = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer(TestGateway.ClientKey));
        using var models = await gateway.Client.GetAsync("/v1/models");

        var missingMessage = await OpenAiAssert.ErrorAsync(missing, HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.StartsWith("No API key", missingMessage, StringComparison.Ordinal);
        var message = await OpenAiAssert.ErrorAsync(wrong, HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.DoesNotContain(TestGateway.ClientKey, message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        Assert.Empty(mock.Requests);
        // Probes stay open.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/healthz")).StatusCode);
    }

    [Theory]
    [InlineData("bearer")]
    [InlineData("x-api-key")]
    public async Task ValidKey_IsAccepted_AndNeverReachesTheProvider(string how)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth(), ("local", mock.BaseUrl)), environment: s_environment);

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""",
            how == "bearer" ? Bearer(TeamKey) : r => r.Headers.Add("x-api-key", TeamKey));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer " + TestGateway.ProviderKey, mock.LastRequest.Headers["Authorization"]);
        Assert.DoesNotContain(mock.LastRequest.Headers.Values, v => v.Contains(TeamKey, StringComparison.Ordinal));
        Assert.DoesNotContain(TeamKey, gateway.Logs.All, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("local/m", HttpStatusCode.OK)]
    [InlineData("smart", HttpStatusCode.OK)]
    [InlineData("other/m", HttpStatusCode.Forbidden)]
    [InlineData("smarter", HttpStatusCode.Forbidden)]
    [InlineData("SMART", HttpStatusCode.OK)]
    [InlineData("other/gpt-4o", HttpStatusCode.OK)]
    [InlineData("OTHER/gpt-4o", HttpStatusCode.OK)]
    [InlineData("OTHER/GPT-4O", HttpStatusCode.Forbidden)]
    [InlineData("other/GPT-4o", HttpStatusCode.Forbidden)]
    public async Task ModelAllowList_IsEnforcedWithGlobs(string model, HttpStatusCode expected)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth(), ("local", mock.BaseUrl), ("other", mock.BaseUrl)), environment: s_environment);

        using var response = await gateway.PostAsync("/v1/chat/completions", $$"""{"model":"{{model}}"}""", Bearer(TeamKey));

        if (expected == HttpStatusCode.Forbidden)
        {
            var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "model_not_allowed", "model");
            Assert.Contains("team-a", message, StringComparison.Ordinal);
            Assert.Empty(mock.Requests);
        }
        else
        {
            Assert.Equal(expected, response.StatusCode);
            // The model part goes upstream exactly as the client wrote it.
            Assert.Contains($"\"model\":\"{(model.Contains('/', StringComparison.Ordinal) ? model[(model.IndexOf('/', StringComparison.Ordinal) + 1)..] : "m")}\"", mock.LastRequest.BodyText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ModelList_ShowsOnlyWhatTheKeyMayUse()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth(), ("local", mock.BaseUrl), ("other", mock.BaseUrl)), environment: s_environment);
        await gateway.WaitForCatalogAsync(c => c.Contains("other/mock-model"));

        var teamA = await ListAsync(gateway, TeamKey);
        var teamB = await ListAsync(gateway, OtherKey);

        Assert.Equal(["local/mock-model", "smart"], teamA);
        Assert.Equal(["local/mock-model", "other/mock-model", "smart"], teamB);
    }

    private static async Task<List<string>> ListAsync(TestGateway gateway, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        Bearer(key)(request);
        using var response = await gateway.Client.SendAsync(request);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToList();
    }

    [Fact]
    public async Task RequestsPerMinute_AreLimitedExactly_UnderParallelRequests()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth(", rpm: 5"), ("local", mock.BaseUrl)), environment: s_environment);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer(TeamKey))));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(3, refused.Count);
        await OpenAiAssert.ErrorAsync(refused[0], HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.True(int.Parse(refused[0].Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        var ok = responses.First(r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal("5", ok.Headers.GetValues("x-ratelimit-limit-requests").Single());
        // The provider's own x-ratelimit headers describe the gateway's provider key: the client gets the gateway's.
        Assert.NotEqual("99", ok.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal(5, mock.Requests.Count);
        // Another key has its own budget.
        using var other = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer(OtherKey));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task MaxConcurrent_RefusesRequestsBeyondTheLimit_WhileOthersAreInFlight()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { DelayMs = 60_000 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth(", max_concurrent: 2"), ("local", mock.BaseUrl)), environment: s_environment);
        using var stop = new CancellationTokenSource();

        var inFlight = Enumerable.Range(0, 2).Select(_ => gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer(TeamKey), cancellationToken: stop.Token)).ToList();
        await mock.NextArrivalAsync(TimeSpan.FromSeconds(10));
        await mock.NextArrivalAsync(TimeSpan.FromSeconds(10));
        using var third = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer(TeamKey));

        await OpenAiAssert.ErrorAsync(third, HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.Equal(2, mock.Requests.Count);
        await stop.CancelAsync();
        foreach (var request in inFlight)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }
    }

    [Fact]
    public async Task TokensPerMinute_AreChargedFromTheRealUsage()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth(", tpm: 30"), ("local", mock.BaseUrl)), environment: s_environment);

        // Each answer reports total_tokens 18: the first two fit in 30 (charged after each answer), the third does not.
        for (int i = 0; i < 2; i++)
        {
            using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer(TeamKey));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(i == 0 ? "30" : "12", response.Headers.GetValues("x-ratelimit-remaining-tokens").Single());
            await gateway.Logs.WaitForAsync(_ => gateway.Logs.Count("completion callbacks done") == i + 1, TimeSpan.FromSeconds(10));
        }
        using var refused = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer(TeamKey));

        var message = await OpenAiAssert.ErrorAsync(refused, HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.Contains("30 tokens per minute", message, StringComparison.Ordinal);
        Assert.Equal(2, mock.Requests.Count);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("text")]
    public async Task RequestLog_WritesOneLinePerRequest_WithoutSecrets(string format)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Auth() + $"request_log: {{ format: {format} }}\n", ("local", mock.BaseUrl)), environment: s_environment);

        using var ok = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart","messages":[{"role":"user","content":"secret prompt"}]}""", Bearer(TeamKey));
        using var denied = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", Bearer("not-a-valid-key-123"));

        // A request's line is written as its middleware unwinds, which may be after the client has the whole answer.
        await gateway.Logs.WaitForAsync(_ => gateway.Logs.Count("Gateway.Requests") == 2, TimeSpan.FromSeconds(10));
        var lines = gateway.Logs.Lines.Where(l => l.Contains("Gateway.Requests", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.DoesNotContain(lines, l => l.Contains("secret prompt", StringComparison.Ordinal) || l.Contains(TeamKey, StringComparison.Ordinal));
        if (format == "json")
        {
            var first = JsonDocument.Parse(lines[0][(lines[0].IndexOf('{', StringComparison.Ordinal))..].Trim()).RootElement;
            Assert.Equal(ok.Headers.GetValues("X-Request-Id").Single(), first.GetProperty("request_id").GetString());
            Assert.Equal("team-a", first.GetProperty("key").GetString());
            Assert.Equal("smart", first.GetProperty("model").GetString());
            Assert.Equal("local/m", first.GetProperty("served_by").GetString());
            Assert.Equal(200, first.GetProperty("status").GetInt32());
            Assert.Equal(1, first.GetProperty("attempts").GetInt32());
            Assert.True(first.GetProperty("bytes_out").GetInt64() > 100);
            Assert.True(first.GetProperty("ttfb_ms").GetDouble() <= first.GetProperty("total_ms").GetDouble());
            Assert.Contains("\"status\":401", lines[1], StringComparison.Ordinal);
            Assert.Contains("\"error\":\"invalid_api_key\"", lines[1], StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("key=team-a model=smart served_by=local/m status=200 attempts=1", lines[0], StringComparison.Ordinal);
            Assert.Contains("key=- model=- served_by=- status=401", lines[1], StringComparison.Ordinal);
            Assert.EndsWith(" error=invalid_api_key", lines[1].TrimEnd(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    public async Task RequestLog_EscapesControlCharactersAndSpacesOfThePath_InEveryFormat(string format)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config($"request_log: {{ format: {format} }}\n", ("local", mock.BaseUrl)));

        // A decoded path with CR, LF, ESC, a quote, a backslash and a forged field.
        var response = await RawHttpClient.SendAsync(gateway.BaseUrl, "POST", "/v1/x%0D%0Arequest_id=forged%1B[31m%22%5C%20status=200%09", "{}");

        Assert.Equal(404, response.Status);
        await gateway.Logs.WaitForAsync(l => l.Contains("Gateway.Requests", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var line = gateway.Logs.Lines.Single(l => l.Contains("Gateway.Requests", StringComparison.Ordinal)).TrimEnd();
        Assert.DoesNotContain('\r', line);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\u001b', line);
        Assert.DoesNotContain('\t', line);
        if (format == "text")
        {
            Assert.Contains(@" path=/v1/x\u000d\u000arequest_id=forged\u001b[31m\""\\\u0020status=200\u0009 key=- ", line, StringComparison.Ordinal);
            Assert.Single(line.Split(' '), part => part.StartsWith("status=", StringComparison.Ordinal));
        }
        else
        {
            var record = JsonDocument.Parse(line[line.IndexOf('{', StringComparison.Ordinal)..]).RootElement;
            Assert.Equal("/v1/x\r\nrequest_id=forged\u001b[31m\"\\ status=200\t", record.GetProperty("path").GetString());
        }
    }

    [Fact]
    public async Task HeaderRules_DropAndAddClientHeaders_ButNeverCredentials()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            headers:
              drop_from_client: [user-agent]
              forward_from_client: [x-trace-tenant]
            """, ("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""", request =>
        {
            request.Headers.UserAgent.ParseAdd("my-app/1.0");
            request.Headers.Add("x-trace-tenant", "acme");
            request.Headers.Add("OpenAI-Beta", "assistants=v2");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = mock.LastRequest.Headers;
        Assert.False(headers.ContainsKey("User-Agent"));
        Assert.Equal("acme", headers["x-trace-tenant"]);
        Assert.Equal("assistants=v2", headers["OpenAI-Beta"]);
    }
}
