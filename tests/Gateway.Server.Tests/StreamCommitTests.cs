using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Server.Tests;

/// <summary>After the commit point the gateway never switches target: a broken stream ends honestly, or is continued when asked.</summary>
public sealed class StreamCommitTests
{
    private const string Full = "tok0 tok1 tok2 tok3 tok4 ";

    private const string TwoTargets = """
        strategies:
          smart: { targets: [first/a, second/b] }
        """;

    private const string Rescue = """
        strategies:
          smart: { targets: [first/a, second/b], on_interrupt: continue }
        """;

    [Fact]
    public async Task StreamCutAfterCommit_EndsWithErrorEvent_AndIsNotRetried()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets, ("first", first.BaseUrl, ""), ("second", second.BaseUrl, "")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());

        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("tok1", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"code\":\"stream_interrupted\"", await events.NextAsync(), StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<IOException>(async () => await events.NextAsync());
        Assert.Single(first.Requests);
        Assert.Empty(second.Requests);
    }

    [Fact]
    public async Task StalledStream_EndsAfterTheIdleTimeout_WithErrorEvent()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { HangAfter = 2 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets,
            ("first", first.BaseUrl, "stream_idle_timeout: 300ms"), ("second", second.BaseUrl, "")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());

        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("tok1", await events.NextAsync(), StringComparison.Ordinal);
        var error = await events.NextAsync();
        Assert.Contains("\"code\":\"stream_interrupted\"", error, StringComparison.Ordinal);
        Assert.Contains("stalled for 300ms", error, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<IOException>(async () => await events.NextAsync());
        await first.LastRequest.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(second.Requests);
    }

    [Fact]
    public async Task SlowButAliveStream_IsNotCut_AndGetsKeepalives()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Chunks = 3, ChunkDelayMs = 400 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("local", mock.BaseUrl, "stream_idle_timeout: 2s, keepalive_interval: 100ms")));

        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Contains(": keepalive\n\n", text, StringComparison.Ordinal);
        // Comments sit between events only, and a client that ignores them sees the whole answer.
        var data = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => !e.StartsWith(':')).ToList();
        Assert.Equal(5, data.Count);
        Assert.Equal("data: [DONE]", data[^1]);
        Assert.All(data, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FinishReasonWithoutDone_IsComplete_AndEndsPromptly(bool upstreamKeepsConnectionOpen)
    {
        // Chunks 20 ms apart: the copy loop waits before the finish_reason arrives, as with a real model.
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { NoDone = true, HangAtEnd = upstreamKeepsConnectionOpen, ChunkDelayMs = 20 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl, "stream_idle_timeout: 30s")));

        var clock = Stopwatch.StartNew();
        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains("\"finish_reason\":\"stop\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("error", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CleanEofWithoutFinishReasonOrDone_IsATruncation()
    {
        await using var raw = await RawUpstream.StartAsync(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" +
            "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n");
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("raw", raw.BaseUrl)));

        using var response = await gateway.ChatAsync("""{"model":"raw/m","stream":true}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());

        Assert.Contains("Hel", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("without a finish_reason or [DONE]", await events.NextAsync(), StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<IOException>(async () => await events.NextAsync());
    }

    [Fact]
    public async Task OfficialSdk_FailsOnAnInterruptedStream_InsteadOfReturningATruncatedAnswer()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        var client = new OpenAIClient(new ApiKeyCredential(TestGateway.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl, "/v1") });

        var received = new System.Text.StringBuilder();
        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in client.GetChatClient("local/m").CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
            {
                foreach (var part in update.ContentUpdate)
                {
                    received.Append(part.Text);
                }
            }
        });

        Assert.NotNull(failure);
        Assert.Equal("tok0 tok1 ", received.ToString());
    }

    [Theory]
    [InlineData("assistant", false)]
    [InlineData("vllm", false)]
    [InlineData("assistant", true)]
    public async Task OnInterruptContinue_CompletesTheAnswerOnTheNextTarget(string prefill, bool stall)
    {
        await using var first = await MockProviderServer.StartAsync(stall ? new MockBehavior { HangAfter = 2 } : new MockBehavior { CloseAfter = 2 });
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { Id = "chatcmpl-second" });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Rescue,
            ("first", first.BaseUrl, "stream_idle_timeout: 300ms"), ("second", second.BaseUrl, $"prefill: {prefill}")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"messages":[{"role":"user","content":"Count"}]}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());
        var chunks = new List<string>();
        while (await events.NextAsync() is { } data)
        {
            chunks.Add(data);
        }

        Assert.Equal("[DONE]", chunks[^1]);
        var parsed = chunks[..^1].Select(c => JsonDocument.Parse(c).RootElement).ToList();
        Assert.All(parsed, c => Assert.Equal("chatcmpl-mock", c.GetProperty("id").GetString()));
        var text = string.Concat(parsed.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(Full, text);

        var continuation = JsonDocument.Parse(second.LastRequest.Body).RootElement;
        Assert.Equal("b", continuation.GetProperty("model").GetString());
        var messages = continuation.GetProperty("messages");
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
        Assert.Equal("tok0 tok1 ", messages[1].GetProperty("content").GetString());
        Assert.Equal(prefill == "vllm", continuation.TryGetProperty("continue_final_message", out var flag) && flag.GetBoolean());
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("continuing it on second/b", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnInterruptContinue_WhenTheNextTargetRejectsThePrefill_EndsWithTheOriginalError()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var second = await MockProviderServer.StartAsync(new MockBehavior { RejectPrefill = true });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Rescue, ("first", first.BaseUrl, ""), ("second", second.BaseUrl, "prefill: true")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"messages":[{"role":"user","content":"Count"}]}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());

        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("tok1", await events.NextAsync(), StringComparison.Ordinal);
        var error = await events.NextAsync();
        Assert.Contains("The stream from provider 'first'", error, StringComparison.Ordinal);
        Assert.DoesNotContain("prefill", error, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<IOException>(async () => await events.NextAsync());
        Assert.Single(second.Requests);
    }

    [Fact]
    public async Task OnInterruptContinue_SkipsAModelWhoseModelPrefillSaysNo_AndUsesTheProvidersOtherModel()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var second = await MockProviderServer.StartAsync();
        const string strategies = """
            strategies:
              smart: { targets: [first/a, second/claude-sonnet-4-6, second/claude-3-7-sonnet], on_interrupt: continue }
            """;
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("first", first.BaseUrl, ""), ("second", second.BaseUrl, "prefill: true, model_prefill: { \"claude-sonnet-4-6*\": false }")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"messages":[{"role":"user","content":"Count"}]}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        var continuation = Assert.Single(second.Requests);
        Assert.Equal("claude-3-7-sonnet", JsonDocument.Parse(continuation.Body).RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task OnInterruptContinue_AModelThatRefusedAPrefill_IsNotAskedAgain_AndTheClientNeverSeesTheRefusal()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var refusing = await MockProviderServer.StartAsync(new MockBehavior { RejectPrefill = true });
        await using var third = await MockProviderServer.StartAsync();
        const string strategies = """
            strategies:
              smart: { targets: [first/a, refusing/b, third/c], on_interrupt: continue }
            """;
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("first", first.BaseUrl, "circuit: { failure_threshold: 100 }"), ("refusing", refusing.BaseUrl, "prefill: true"), ("third", third.BaseUrl, "prefill: true")));

        for (int i = 0; i < 2; i++)
        {
            using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"messages":[{"role":"user","content":"Count"}]}""");
            var text = await response.Content.ReadAsStringAsync();
            Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
            Assert.DoesNotContain("prefill", text, StringComparison.Ordinal);
        }

        Assert.Single(refusing.Requests);
        Assert.Equal(2, third.Requests.Count);
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("refusing/b refused to continue a prefill; not asked again for 600s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnInterruptContinue_NeverUsesATargetWithoutPrefill()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var second = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(Rescue, ("first", first.BaseUrl, ""), ("second", second.BaseUrl, "")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"messages":[]}""");
        var text = await Record.ExceptionAsync(() => response.Content.ReadAsStringAsync());

        Assert.NotNull(text);
        Assert.Empty(second.Requests);
    }

    [Fact]
    public async Task Chaos_ProviderKilledAndRestarted_LosesNoUncommittedRequest()
    {
        var flaky = await MockProviderServer.StartAsync(new MockBehavior { DelayMs = 2 });
        var port = flaky.BaseUrl.Port;
        await using var steady = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(TwoTargets,
            ("first", flaky.BaseUrl, "retries: 0, circuit: { failure_threshold: 1000, cooldown: 1s }"), ("second", steady.BaseUrl, "")));

        const int total = 300;
        int completed = 0;
        var killAt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var restartAt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        using var gate = new SemaphoreSlim(8);
        var load = Task.WhenAll(Enumerable.Range(0, total).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""");
                statuses.Add(response.StatusCode);
            }
            finally
            {
                gate.Release();
                int done = Interlocked.Increment(ref completed);
                if (done == total / 3)
                {
                    killAt.TrySetResult();
                }
                if (done == 2 * total / 3)
                {
                    restartAt.TrySetResult();
                }
            }
        }));

        await killAt.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await flaky.DisposeAsync();
        await restartAt.Task.WaitAsync(TimeSpan.FromSeconds(30));
        flaky = await MockProviderServer.StartAsync(port: port);
        await load.WaitAsync(TimeSpan.FromSeconds(60));
        using (var after = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}"""))
        {
            Assert.Equal("first/a", after.Headers.GetValues("X-Gateway-Model").Single());
        }
        await flaky.DisposeAsync();

        Assert.Equal(total, statuses.Count);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("provider first attempt 1 failed", StringComparison.Ordinal));
    }
}
