using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// /v1/messages to a type: anthropic provider: the client's request goes as it came with only the model rewritten,
/// and the provider's answer comes back as it sent it — no double translation — while limits, logs and the commit
/// point still read it.
/// </summary>
public sealed class MessagesNativeTests
{
    private const string ClaudeOptions = "type: anthropic, discover_models: false, beta: [configured-2025-01-01]";

    // A Claude Code-shaped body: spacing, key order, cache_control, thinking and metadata are the client's, byte for byte.
    private const string ClientBody = """
        {"model": "claude/claude-sonnet-4-5", "max_tokens": 1024, "stream": true,
         "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
         "thinking": {"type": "enabled", "budget_tokens": 512}, "metadata": {"user_id": "user_abc"},
         "tools": [{"name": "web_search", "type": "web_search_20250305"}],
         "messages": [{"role": "user", "content": "Weather in Paris?"}]}
        """;

    private static HttpRequestMessage Messages(string body, string? beta = "interleaved-thinking-2025-05-14") => new HttpRequestMessage(HttpMethod.Post, "/v1/messages?beta=true")
    {
        Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        Headers = { { "x-api-key", TestGateway.ClientKey }, { "anthropic-version", "2023-06-01" } },
    }.WithBeta(beta);

    public static TheoryData<string> Streams() => ["A05-thinking-text-tool", "A06-redacted-thinking", "A08-cache-usage", "A14-unknown-blocks-and-deltas", "A16-text-crlf-nospace"];

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task A_stream_passes_through_as_the_provider_sent_it(string name)
    {
        await using var mock = await MockProviderServer.StartAsync();
        var transcript = TranscriptVectors.Load("anthropic", name);
        mock.Transcripts.Enqueue(transcript);
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, ClaudeOptions)));

        using var response = await gateway.Client.SendAsync(Messages(ClientBody), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        // Byte for byte, but for line ends: each line goes on with '\n' (a provider's CRLF events arrive as LF ones).
        var provided = System.Text.Encoding.UTF8.GetString(transcript.Body()).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Equal(provided, await response.Content.ReadAsStringAsync());
        var sent = Assert.Single(mock.Requests);
        Assert.Equal("/v1/messages", sent.Path);
        Assert.Equal(ClientBody.Replace("claude/claude-sonnet-4-5", "claude-sonnet-4-5", StringComparison.Ordinal), System.Text.Encoding.UTF8.GetString(sent.Body));
        Assert.Equal(TestGateway.ProviderKey, sent.Headers["x-api-key"]);
        Assert.Equal("configured-2025-01-01, interleaved-thinking-2025-05-14", sent.Headers["anthropic-beta"]);
        Assert.False(sent.Headers.ContainsKey("Authorization"));
        Assert.Equal("", sent.Query.TrimStart('?'));
    }

    [Fact]
    public async Task A_whole_answer_passes_through_as_the_provider_sent_it()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var transcript = TranscriptVectors.Load("anthropic", "A17-message-tools-thinking");
        mock.Transcripts.Enqueue(transcript);
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, ClaudeOptions)));

        using var response = await gateway.Client.SendAsync(Messages(ClientBody.Replace("\"stream\": true", "\"stream\": false", StringComparison.Ordinal), beta: null));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(transcript.Body(), await response.Content.ReadAsByteArrayAsync());
        Assert.NotNull(response.Headers.GetValues("request-id").Single());
        Assert.Equal("configured-2025-01-01", Assert.Single(mock.Requests).Headers["anthropic-beta"]);
    }

    [Fact]
    public async Task An_error_event_mid_stream_reaches_the_client_once_and_never_as_a_clean_end()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var transcript = TranscriptVectors.Load("anthropic", "A10-error-after-text");
        mock.Transcripts.Enqueue(transcript);
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, ClaudeOptions)));

        using var response = await gateway.Client.SendAsync(Messages(ClientBody), HttpCompletionOption.ResponseHeadersRead);
        var body = await ReadUntilAbortAsync(response);

        var provided = System.Text.Encoding.UTF8.GetString(transcript.Body());
        var beforeError = provided[..provided.IndexOf("event: error", StringComparison.Ordinal)];
        Assert.StartsWith(beforeError, body, StringComparison.Ordinal);
        var after = body[beforeError.Length..];
        Assert.Equal(1, CountOf(body, "event: error"));
        Assert.StartsWith("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"", after, StringComparison.Ordinal);
        Assert.DoesNotContain("message_stop", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Only_the_attempt_that_commits_decides_how_the_answer_goes_out(bool anthropicFirst)
    {
        await using var claude = await MockProviderServer.StartAsync();
        await using var local = await MockProviderServer.StartAsync(anthropicFirst ? null : new MockBehavior { Status = 500 });
        var transcript = TranscriptVectors.Load("anthropic", "A05-thinking-text-tool");
        if (anthropicFirst)
        {
            claude.Transcripts.Enqueue(Transcript.Parse([
                """{"status":529,"headers":{"content-type":"application/json"}}""",
                """{"raw":"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"}"""]));
        }
        else
        {
            claude.Transcripts.Enqueue(transcript);
        }
        var targets = anthropicFirst ? "[claude/claude-sonnet-4-5, local/gpt-4o]" : "[local/gpt-4o, claude/claude-sonnet-4-5]";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config($"strategies:\n  smart: {{ targets: {targets} }}\n",
            ("claude", claude.BaseUrl, ClaudeOptions + ", retries: 0"), ("local", local.BaseUrl, "discover_models: false, retries: 0")));

        using var response = await gateway.Client.SendAsync(Messages(ClientBody.Replace("claude/claude-sonnet-4-5", "smart", StringComparison.Ordinal)));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        if (anthropicFirst)
        {
            // Served by the OpenAI provider: the translated stream, which names the model the client asked for.
            Assert.Contains("\"model\":\"smart\"", body, StringComparison.Ordinal);
            Assert.Contains("tok0 ", body, StringComparison.Ordinal);
            Assert.DoesNotContain("thinking", System.Text.Encoding.UTF8.GetString(Assert.Single(local.Requests).Body), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(System.Text.Encoding.UTF8.GetString(transcript.Body()), body);
            Assert.Equal("claude-sonnet-4-5", JsonDocument.Parse(Assert.Single(claude.Requests).Body).RootElement.GetProperty("model").GetString());
        }
    }

    [Fact]
    public async Task A_transform_reads_the_translation_so_redaction_still_applies()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A05-thinking-text-tool"));
        var redact = "redact:\n  patterns: ['Check[a-z]+']\n  replacement: \"[x]\"\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(redact, ("claude", mock.BaseUrl, ClaudeOptions)));

        using var response = await gateway.Client.SendAsync(Messages(ClientBody));
        var body = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain("Checking", body, StringComparison.Ordinal);
        Assert.Contains("[x]", body, StringComparison.Ordinal);
        Assert.EndsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_completion_log_has_the_usage_of_a_native_stream()
    {
        var dir = Directory.CreateTempSubdirectory("gateway-native-").FullName;
        try
        {
            var path = Path.Combine(dir, "completions.jsonl");
            await using var mock = await MockProviderServer.StartAsync();
            mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A08-cache-usage"));
            await using var gateway = await TestGateway.StartAsync(TestGateway.Config(
                $$"""completion_log: { sink: file, path: "{{path}}" }""" + "\n", ("claude", mock.BaseUrl, ClaudeOptions)));
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gateway.Host.Components.CompletionLog!.BatchDone += () => written.TrySetResult();

            using var response = await gateway.Client.SendAsync(Messages(ClientBody));
            await response.Content.ReadAsStringAsync();
            await written.Task.WaitAsync(TimeSpan.FromSeconds(10));

            using var record = JsonDocument.Parse(Assert.Single(File.ReadAllLines(path)));
            Assert.Equal("anthropic", record.RootElement.GetProperty("api").GetString());
            Assert.Equal("completed", record.RootElement.GetProperty("end").GetString());
            var usage = record.RootElement.GetProperty("usage");
            Assert.True(usage.GetProperty("prompt_tokens").GetInt64() > 0, usage.GetRawText());
            Assert.True(usage.GetProperty("completion_tokens").GetInt64() > 0, usage.GetRawText());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_anthropic_sdk_reads_a_native_answer_and_stream_with_thinking_and_tools()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A17-message-tools-thinking"));
        mock.Transcripts.Enqueue(TranscriptVectors.Load("anthropic", "A05-thinking-text-tool"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, ClaudeOptions)));
        var client = new AnthropicClient { ApiKey = TestGateway.ClientKey, BaseUrl = gateway.BaseUrl.ToString().TrimEnd('/'), MaxRetries = 0 };
        var request = new MessageCreateParams
        {
            Model = "claude/claude-sonnet-4-5",
            MaxTokens = 1024,
            Messages = [new UserMessageParam { Content = "Weather in Paris?" }],
        };

        var message = await client.Messages.Create(request);
        Assert.True(message.Content[0].TryPickThinking(out var thinking));
        Assert.Equal("EqQBsig", thinking!.Signature);
        Assert.True(message.Content[3].TryPickToolUse(out var use));
        Assert.Equal("get_weather", use!.Name);
        Assert.Equal("tool_use", message.StopReason?.Raw());
        Assert.Equal(100, message.Usage.CacheReadInputTokens);

        string? tool = null, stop = null, signature = null;
        var input = new StringBuilder();
        await foreach (var @event in client.Messages.CreateStreaming(request))
        {
            if (@event.TryPickContentBlockStart(out var start) && start!.ContentBlock.TryPickToolUse(out var started))
            {
                tool = started!.Name;
            }
            if (@event.TryPickContentBlockDelta(out var delta))
            {
                if (delta!.Delta.TryPickInputJson(out var json))
                {
                    input.Append(json!.PartialJson);
                }
                if (delta.Delta.TryPickSignature(out var signed))
                {
                    signature = signed!.Signature;
                }
            }
            if (@event.TryPickDelta(out var messageDelta))
            {
                stop = messageDelta!.Delta.StopReason?.Raw();
            }
        }
        Assert.Equal("get_weather", tool);
        Assert.Equal("tool_use", stop);
        Assert.StartsWith("EqQB", signature, StringComparison.Ordinal);
        Assert.Equal("Oslo", JsonDocument.Parse(input.ToString()).RootElement.GetProperty("city").GetString());
    }

    private static int CountOf(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    /// <summary>What arrived before the gateway aborted the response (an abnormal end is an abort after the error event).</summary>
    private static async Task<string> ReadUntilAbortAsync(HttpResponseMessage response)
    {
        var received = new MemoryStream();
        try
        {
            await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received);
        }
        catch (HttpRequestException)
        {
        }
        catch (IOException)
        {
        }
        return System.Text.Encoding.UTF8.GetString(received.ToArray());
    }
}

internal static class MessagesBetaExtensions
{
    public static HttpRequestMessage WithBeta(this HttpRequestMessage request, string? beta)
    {
        if (beta is not null)
        {
            request.Headers.Add("anthropic-beta", beta);
        }
        return request;
    }
}
