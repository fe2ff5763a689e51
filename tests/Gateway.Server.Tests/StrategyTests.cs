using System.Net;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>Each failure before the commit point either moves on to the next target or is the answer, as the strategy says.</summary>
public sealed class StrategyTests
{
    private const string TwoTargets = """
        strategies:
          smart: { targets: [first/a, second/b] }
        """;

    [Fact]
    public async Task ConnectionRefused_FallsOverToNextTarget_WithBodyIdenticalButModel()
    {
        await using var backup = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              smart: { targets: [down/gpt-4o, backup/llama-3] }
            """, ("down", RawUpstream.RefusingBaseUrl(), "retries: 0"), ("backup", backup.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart","messages":[{"role":"user","content":"h\u00e9"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup/llama-3", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Equal("2", response.Headers.GetValues("X-Gateway-Attempts").Single());
        Assert.Equal("""{"model":"llama-3","messages":[{"role":"user","content":"h\u00e9"}]}""", backup.LastRequest.BodyText);
    }

    [Theory]
    [InlineData("reset")]
    [InlineData("503")]
    [InlineData("first_event_error")]
    public async Task FailureBeforeCommit_FallsOver_AndClientSeesOnlyTheSecondAnswer(string failure)
    {
        await using var first = await MockProviderServer.StartAsync(failure switch
        {
            "reset" => new MockBehavior { Reset = true },
            "503" => new MockBehavior { Status = 503 },
            _ => new MockBehavior { FirstEventError = true },
        });
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { Id = "chatcmpl-second" });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, "retries: 0"), ("second", second.BaseUrl, "")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("second/b", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.DoesNotContain("error", text, StringComparison.Ordinal);
        Assert.Contains("chatcmpl-second", text, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        Assert.Single(first.Requests);
    }

    [Fact]
    public async Task HangBeforeHeaders_TimesOut_CancelsTheAttempt_AndFallsOver()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { DelayMs = 60_000 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, "timeout: 300ms"), ("second", second.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await first.LastRequest.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        // A timeout does not retry the same silent provider.
        Assert.Single(first.Requests);
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("did not answer within 300ms", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SlowFirstToken_FallsOver_BeforeAnythingReachesTheClient()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { FirstChunkDelayMs = 60_000 });
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { Id = "chatcmpl-second" });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, "first_token_timeout: 300ms"), ("second", second.BaseUrl, "")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("second/b", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.DoesNotContain("chatcmpl-mock", text, StringComparison.Ordinal);
        await first.LastRequest.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("sent no first token within 300ms", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RateLimitedWithRetryAfter_FailsOverAtOnce_AndCoolsTheProvider()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = 429, RetryAfter = "30" });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, "retries: 3"), ("second", second.BaseUrl, "")));

        using var one = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");
        using var two = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(HttpStatusCode.OK, two.StatusCode);
        // No retry on the same provider, and while it cools down the second request does not contact it at all.
        Assert.Single(first.Requests);
        Assert.Equal(2, second.Requests.Count);
        Assert.Equal("1", two.Headers.GetValues("X-Gateway-Attempts").Single());
    }

    [Fact]
    public async Task RateLimitedWithoutRetryAfter_IsRetriedOnTheSameProvider_ThenFallsOver()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = 429 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, "retries: 1"), ("second", second.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, first.Requests.Count);
        Assert.Equal("3", response.Headers.GetValues("X-Gateway-Attempts").Single());
    }

    [Fact]
    public async Task RateLimitedWait_WaitsOutAShortRetryAfter_OnTheSameProvider()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = 429, RetryAfterMs = "200", FailTimes = 1 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              patient: { targets: [first/a, second/b], rate_limited: wait }
            """, ("first", first.BaseUrl, "max_retry_wait: 1s"), ("second", second.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"patient"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("first/a", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Equal(2, first.Requests.Count);
        Assert.Empty(second.Requests);
    }

    [Fact]
    public async Task EveryTargetRateLimited_Is429_WithTheSmallestRetryAfter()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = 429, RetryAfter = "20" });
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { Status = 429, RetryAfter = "7" });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, ""), ("second", second.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.TooManyRequests, "upstream_rate_limited");
        Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
        Assert.Contains("first/a: answered 429", message, StringComparison.Ordinal);
        Assert.Contains("second/b: answered 429", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllTargetsFailed_Is502_ListingEveryAttempt_WithoutSecrets()
    {
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", RawUpstream.RefusingBaseUrl(), "retries: 0"), ("second", second.BaseUrl, "retries: 0")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadGateway, "upstream_error");
        Assert.Equal("All 2 upstream attempts failed: first/a: is unreachable (connection refused); second/b: answered 503.", message);
        Assert.Equal("2", response.Headers.GetValues("X-Gateway-Attempts").Single());
        Assert.DoesNotContain("mock failure", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryTargetTimedOut_Is504()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { DelayMs = 60_000 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, "timeout: 200ms"), ("second", first.BaseUrl, "timeout: 200ms")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.GatewayTimeout, "upstream_timeout");
    }

    [Fact]
    public async Task Deadline_BoundsTheWholeChain()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { DelayMs = 60_000 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              hurried: { targets: [first/a, second/b], deadline: 400ms }
            """, ("first", first.BaseUrl, ""), ("second", second.BaseUrl, "")));

        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"hurried"}""");

        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.GatewayTimeout, "upstream_timeout");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(3), $"took {started.Elapsed}");
        Assert.Contains("deadline", message, StringComparison.Ordinal);
        Assert.Empty(second.Requests);
    }

    [Theory]
    [InlineData(400, "invalid_request_error_x")]
    [InlineData(400, "content_policy_violation")]
    [InlineData(401, "invalid_api_key")]
    [InlineData(422, "unprocessable")]
    public async Task ClientErrors_AreTheAnswer_NotRetried_NorFallenOver(int status, string code)
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = status, ErrorCode = code });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              smart: { targets: [first/a, second/b], fallback_on: [connect, timeout, 429, 5xx, context_length_exceeded] }
            """, ("first", first.BaseUrl, "retries: 2"), ("second", second.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains($"\"code\":\"{code}\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(first.Requests);
        Assert.Empty(second.Requests);
    }

    [Fact]
    public async Task ListedErrorCode_MovesOnToTheNextTarget()
    {
        await using var small = await MockProviderServer.StartAsync(new MockBehavior { Status = 400, ErrorCode = "context_length_exceeded" });
        await using var large = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              long-context:
                targets: [small/mini, large/big]
                fallback_on: [connect, timeout, 429, 5xx, context_length_exceeded]
            """, ("small", small.BaseUrl, ""), ("large", large.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"long-context"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("large/big", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Single(small.Requests);
    }

    [Fact]
    public async Task UnknownStrategy_Is404_ListingTheStrategies()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", mock.BaseUrl, ""), ("second", mock.BaseUrl, "")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smrt"}""");

        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.NotFound, "model_not_found", "model");
        Assert.Contains("strategies: smart", message, StringComparison.Ordinal);
    }
}
