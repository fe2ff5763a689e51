using System.Net;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

public sealed class StrategyTests
{
    [Fact]
    public async Task Strategy_FallsOverToNextTarget_WhenFirstIsUnreachable()
    {
        await using var backup = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              smart: { targets: [down/gpt-4o, backup/llama-3] }
            """, ("down", RawUpstream.RefusingBaseUrl()), ("backup", backup.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart","messages":[]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("backup/llama-3", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Equal("""{"model":"llama-3","messages":[]}""", backup.LastRequest.BodyText);
    }

    [Fact]
    public async Task Strategy_FallsOver_On5xxAnd429_ButLastAnswerIsPassedThrough()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { Status = 429 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              busy: { targets: [first/a, second/b] }
            """, ("first", first.BaseUrl), ("second", second.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"busy"}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Single(first.Requests);
        Assert.Single(second.Requests);
    }

    [Fact]
    public async Task Strategy_DoesNotFallOver_OnClientError()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { Status = 400 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("""
            strategies:
              smart: { targets: [first/a, second/b] }
            """, ("first", first.BaseUrl), ("second", second.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(second.Requests);
    }
}
