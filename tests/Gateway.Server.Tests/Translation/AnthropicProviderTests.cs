using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Server.Tests.Translation;

/// <summary>type: anthropic through real sockets: the official OpenAI SDK in front, a mock speaking Anthropic's wire format behind.</summary>
public sealed class AnthropicProviderTests
{
    private const string Anthropic = "type: anthropic";

    private static ChatClient Chat(TestGateway gateway, string model) =>
        new OpenAIClient(new ApiKeyCredential(TestGateway.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl, "/v1") })
            .GetChatClient(model);

    private static Transcript Error(int status, string type, string message, params (string Name, string Value)[] headers)
    {
        var head = new Dictionary<string, string> { ["content-type"] = "application/json" };
        foreach (var (name, value) in headers)
        {
            head[name] = value;
        }
        return Transcript.Parse([
            JsonSerializer.Serialize(new { status, headers = head }),
            JsonSerializer.Serialize(new { raw = $$"""{"type":"error","error":{"type":"{{type}}","message":"{{message}}"},"request_id":"req_1"}""" }),
        ]);
    }

    [Fact]
    public async Task Sdk_chat_streaming_and_not_reaches_anthropic_with_its_own_credentials_and_format()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, Anthropic + ", discover_models: false")));
        var chat = Chat(gateway, "claude/claude-sonnet-4-5");

        ChatCompletion completion = await chat.CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hello")]);
        Assert.Equal("Hello from the mock provider.", completion.Content[0].Text);
        Assert.Equal("claude-sonnet-4-5", completion.Model);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(12, completion.Usage.InputTokenCount);
        Assert.Equal(6, completion.Usage.OutputTokenCount);

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello")], new ChatCompletionOptions()))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal("token0 token1 token2 token3 token4 ", streamed.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);

        Assert.All(mock.Requests, r =>
        {
            Assert.Equal("/v1/messages", r.Path);
            Assert.Equal(TestGateway.ProviderKey, r.Headers["x-api-key"]);
            Assert.Equal("2023-06-01", r.Headers["anthropic-version"]);
            Assert.False(r.Headers.ContainsKey("Authorization"));
        });
        using var first = JsonDocument.Parse(mock.Requests.First().Body);
        Assert.Equal("""[{"type":"text","text":"Be brief."}]""", first.RootElement.GetProperty("system").GetRawText());
        Assert.Equal(4096, first.RootElement.GetProperty("max_tokens").GetInt32());
        Assert.Equal("claude-sonnet-4-5", first.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task An_error_right_after_message_start_falls_back_to_the_next_target_of_another_type()
    {
        await using var anthropic = await MockProviderServer.StartAsync();
        anthropic.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A11-error-before-content"));
        await using var openai = await MockProviderServer.StartAsync();
        var strategies = "strategies:\n  smart: { targets: [claude/claude-sonnet-4-5, local/gpt-4o] }\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("claude", anthropic.BaseUrl, Anthropic + ", discover_models: false, retries: 0"), ("local", openai.BaseUrl, "discover_models: false")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"messages":[{"role":"user","content":"Hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("local/gpt-4o", response.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Equal("2", response.Headers.GetValues("X-Gateway-Attempts").Single());
        Assert.Equal("tok0 tok1 tok2 tok3 tok4 ", OpenAiStream.Read(body).Content);
        Assert.Single(anthropic.Requests);
    }

    [Theory]
    [InlineData("A10-error-after-text", "Partial answer")]
    [InlineData("A12-eof-without-message-stop", "This answer is cut")]
    public async Task A_stream_broken_after_content_ends_abnormally_never_cleanly(string vector, string delivered)
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", vector));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, Anthropic + ", discover_models: false")));

        using var response = await gateway.ChatAsync("""{"model":"claude/claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"Hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = new StringBuilder();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        // The connection is closed without the terminating chunk: the read fails instead of ending cleanly.
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        });
        var stream = OpenAiStream.Read(text.ToString());
        Assert.Equal(delivered, stream.Content);
        Assert.Equal("stream_interrupted", stream.Error);
        Assert.False(stream.Done);
    }

    [Theory]
    [InlineData(529, "overloaded_error", "Overloaded", HttpStatusCode.ServiceUnavailable, "overloaded", null)]
    [InlineData(401, "authentication_error", "invalid x-api-key", HttpStatusCode.BadGateway, "upstream_auth_failed", null)]
    [InlineData(403, "permission_error", "no access", HttpStatusCode.BadGateway, "upstream_auth_failed", null)]
    [InlineData(429, "rate_limit_error", "slow down", HttpStatusCode.TooManyRequests, "upstream_rate_limited", null)]
    [InlineData(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", HttpStatusCode.BadRequest, "context_length_exceeded", "messages")]
    [InlineData(400, "invalid_request_error", "messages: roles must alternate", HttpStatusCode.BadRequest, "invalid_request", null)]
    [InlineData(413, "request_too_large", "Request exceeds the maximum size", HttpStatusCode.RequestEntityTooLarge, "request_too_large", null)]
    [InlineData(500, "api_error", "Internal server error", HttpStatusCode.BadGateway, "upstream_bad_response", null)]
    [InlineData(504, "timeout_error", "Timed out", HttpStatusCode.GatewayTimeout, "upstream_timeout", null)]
    public async Task Anthropic_errors_become_ours_by_status_and_body(int status, string type, string message, HttpStatusCode expected, string code, string? param)
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Error(status, type, message, ("retry-after", "7")));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, Anthropic + ", discover_models: false, retries: 0")));

        foreach (var stream in new[] { "false", "true" })
        {
            using var response = await gateway.ChatAsync($$"""{"model":"claude/claude-sonnet-4-5","stream":{{stream}},"messages":[{"role":"user","content":"Hi"}]}""");
            var text = await OpenAiAssert.ErrorAsync(response, expected, code, param);
            Assert.StartsWith("Provider 'claude': ", text, StringComparison.Ordinal);
            if (expected is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
            {
                Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
            }
            if (code == "invalid_request" || code == "context_length_exceeded")
            {
                Assert.Contains(message, text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task An_overloaded_or_refused_anthropic_target_falls_back_and_a_too_long_prompt_moves_on_when_listed()
    {
        await using var anthropic = await MockProviderServer.StartAsync();
        await using var openai = await MockProviderServer.StartAsync();
        var strategies = """
            strategies:
              smart: { targets: [claude/claude-sonnet-4-5, local/gpt-4o], fallback_on: [connect, timeout, 429, 5xx, context_length_exceeded] }

            """;
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("claude", anthropic.BaseUrl, Anthropic + ", discover_models: false, retries: 0"), ("local", openai.BaseUrl, "discover_models: false")));

        foreach (var transcript in new[]
        {
            Error(529, "overloaded_error", "Overloaded"),
            Error(401, "authentication_error", "invalid x-api-key"),
            Error(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
        })
        {
            anthropic.Transcripts.Enqueue(transcript);
            using var response = await gateway.ChatAsync("""{"model":"smart","messages":[{"role":"user","content":"Hi"}]}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("local/gpt-4o", response.Headers.GetValues("X-Gateway-Model").Single());
        }
    }

    [Fact]
    public async Task Endpoints_and_parameters_anthropic_cannot_serve_are_refused_without_an_upstream_call_or_dropped_when_asked()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var mockDrop = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("",
            ("claude", mock.BaseUrl, Anthropic + ", discover_models: false"), ("lenient", mockDrop.BaseUrl, Anthropic + ", discover_models: false, unsupported_params: drop")));

        using (var embeddings = await gateway.PostAsync("/v1/embeddings", """{"model":"claude/claude-sonnet-4-5","input":"x"}"""))
        {
            var message = await OpenAiAssert.ErrorAsync(embeddings, HttpStatusCode.BadRequest, "unsupported_endpoint");
            Assert.Contains("'anthropic'", message, StringComparison.Ordinal);
        }
        using (var n = await gateway.ChatAsync("""{"model":"claude/claude-sonnet-4-5","n":2,"messages":[{"role":"user","content":"Hi"}]}"""))
        {
            await OpenAiAssert.ErrorAsync(n, HttpStatusCode.BadRequest, "unsupported_parameter", "n");
        }
        using (var logprobs = await gateway.ChatAsync("""{"model":"claude/claude-sonnet-4-5","logprobs":true,"messages":[{"role":"user","content":"Hi"}]}"""))
        {
            await OpenAiAssert.ErrorAsync(logprobs, HttpStatusCode.BadRequest, "unsupported_parameter", "logprobs");
        }
        using (var hot = await gateway.ChatAsync("""{"model":"claude/claude-sonnet-4-5","temperature":1.5,"messages":[{"role":"user","content":"Hi"}]}"""))
        {
            await OpenAiAssert.ErrorAsync(hot, HttpStatusCode.BadRequest, "invalid_value", "temperature");
        }
        using (var args = await gateway.ChatAsync("""{"model":"claude/claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}"""))
        {
            await OpenAiAssert.ErrorAsync(args, HttpStatusCode.BadRequest, "invalid_value", "messages[1].tool_calls[0].function.arguments");
        }
        Assert.Empty(mock.Requests);

        using var dropped = await gateway.ChatAsync("""{"model":"lenient/claude-sonnet-4-5","n":2,"seed":7,"logprobs":true,"messages":[{"role":"user","content":"Hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, dropped.StatusCode);
        Assert.Equal("n,seed,logprobs", dropped.Headers.GetValues("X-Gateway-Dropped-Params").Single());
        var sent = Encoding.UTF8.GetString(Assert.Single(mockDrop.Requests).Body);
        Assert.DoesNotContain("\"n\"", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("seed", sent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_reaches_the_completion_log_from_the_translator_even_when_the_client_did_not_ask_for_it()
    {
        var dir = Directory.CreateTempSubdirectory("gateway-translated-").FullName;
        try
        {
            var path = Path.Combine(dir, "completions.jsonl");
            await using var mock = await MockProviderServer.StartAsync();
            mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A08-cache-usage"));
            await using var gateway = await TestGateway.StartAsync(TestGateway.Config(
                $$"""completion_log: { sink: file, path: "{{path}}" }""" + "\n", ("claude", mock.BaseUrl, Anthropic + ", discover_models: false")));
            var writer = gateway.Host.Components.CompletionLog!;
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            writer.BatchDone += () => written.TrySetResult();

            using var response = await gateway.ChatAsync("""{"model":"claude/claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"Hi"}]}""");
            var body = await response.Content.ReadAsStringAsync();
            var stream = OpenAiStream.Read(body);
            Assert.Equal("Cached.", stream.Content);
            Assert.Null(stream.Usage);
            Assert.True(stream.Done);
            await written.Task.WaitAsync(TimeSpan.FromSeconds(10));

            using var record = JsonDocument.Parse(Assert.Single(File.ReadAllLines(path)));
            var usage = record.RootElement.GetProperty("usage");
            Assert.Equal(1205, usage.GetProperty("prompt_tokens").GetInt64());
            Assert.Equal(3, usage.GetProperty("completion_tokens").GetInt64());
            Assert.Equal("stop", record.RootElement.GetProperty("finish_reason").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_broken_stream_is_continued_by_an_anthropic_target_as_a_prefill_under_the_same_id()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var anthropic = await MockProviderServer.StartAsync();
        var strategies = "strategies:\n  smart: { targets: [local/gpt-4o, claude/claude-sonnet-4-5], on_interrupt: continue }\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("local", first.BaseUrl, "discover_models: false"), ("claude", anthropic.BaseUrl, Anthropic + ", discover_models: false, prefill: true")));

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"messages":[{"role":"user","content":"Count"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        var stream = OpenAiStream.Read(body, continued: true);
        Assert.True(stream.Done);
        Assert.Equal("tok0 tok1 token0 token1 token2 token3 token4 ", stream.Content);
        Assert.DoesNotContain("msg_mock", body, StringComparison.Ordinal);
        var continuation = JsonDocument.Parse(Assert.Single(anthropic.Requests).Body).RootElement;
        var messages = continuation.GetProperty("messages");
        var last = messages[messages.GetArrayLength() - 1];
        Assert.Equal("assistant", last.GetProperty("role").GetString());
        Assert.Equal("tok0 tok1", last.GetProperty("content")[0].GetProperty("text").GetString());
    }
}
