using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests.Translation;

/// <summary>POST /v1/messages: Anthropic's Messages API in front of any provider type (the OpenAI pivot behind it).</summary>
public sealed class MessagesEntryTests
{
    private static Task<HttpResponseMessage> MessagesAsync(TestGateway gateway, string json, string path = "/v1/messages", bool key = true) =>
        gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
            Headers = { { "anthropic-version", "2023-06-01" } },
        }.WithKey(key), HttpCompletionOption.ResponseHeadersRead);

    /// <summary>The events of an Anthropic stream: (event name, data JSON), checking every event has its event: line.</summary>
    private static List<(string Name, JsonElement Data)> Events(string body)
    {
        var events = new List<(string, JsonElement)>();
        foreach (var block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("data: ", lines[1], StringComparison.Ordinal);
            var data = JsonDocument.Parse(lines[1]["data: ".Length..]).RootElement.Clone();
            Assert.Equal(lines[0]["event: ".Length..], data.GetProperty("type").GetString());
            events.Add((lines[0]["event: ".Length..], data));
        }
        return events;
    }

    [Fact]
    public async Task A_stream_to_an_openai_provider_comes_back_as_anthropic_events_in_order()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await MessagesAsync(gateway, """{"model":"local/gpt-4o","max_tokens":100,"stream":true,"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Be kind."}],"messages":[{"role":"user","content":"Count"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = Events(await response.Content.ReadAsStringAsync());

        Assert.Equal(["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
            "content_block_delta", "content_block_stop", "message_delta", "message_stop"], events.Select(e => e.Name));
        var start = events[0].Data.GetProperty("message");
        Assert.Equal("local/gpt-4o", start.GetProperty("model").GetString());
        Assert.Equal("""{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}""", start.GetProperty("usage").GetRawText());
        Assert.Equal("tok0 tok1 tok2 tok3 tok4 ", string.Concat(events.Where(e => e.Name == "content_block_delta").Select(e => e.Data.GetProperty("delta").GetProperty("text").GetString())));
        Assert.All(events.Where(e => e.Name.StartsWith("content_block", StringComparison.Ordinal)), e => Assert.Equal(0, e.Data.GetProperty("index").GetInt32()));
        var delta = events[^2].Data;
        Assert.Equal("end_turn", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(5, delta.GetProperty("usage").GetProperty("output_tokens").GetInt32());

        using var sent = JsonDocument.Parse(Assert.Single(mock.Requests).Body);
        Assert.Equal("""[{"role":"system","content":"Be brief.\n\nBe kind."},{"role":"user","content":"Count"}]""", sent.RootElement.GetProperty("messages").GetRawText());
        Assert.True(sent.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.False(mock.Requests.Single().Headers.ContainsKey("anthropic-version"));
    }

    [Fact]
    public async Task An_anthropic_target_serves_a_messages_client_its_own_events()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("claude", mock.BaseUrl, "type: anthropic, discover_models: false")));

        using var response = await MessagesAsync(gateway, """{"model":"claude/claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Count"}]}""");
        var events = Events(await response.Content.ReadAsStringAsync());

        Assert.Equal("message_stop", events[^1].Name);
        Assert.Equal("token0 token1 token2 token3 token4 ", string.Concat(events.Where(e => e.Name == "content_block_delta").Select(e => e.Data.GetProperty("delta").GetProperty("text").GetString())));
        // As the provider sent them: the input count in message_start, the output count in message_delta.
        Assert.Equal(12, events[0].Data.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(5, events[^2].Data.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal("/v1/messages", Assert.Single(mock.Requests).Path);
    }

    [Fact]
    public async Task Silence_in_a_stream_is_filled_with_anthropic_pings()
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Chunks = 3, ChunkDelayMs = 300 });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl, "keepalive_interval: 100ms")));

        using var response = await MessagesAsync(gateway, """{"model":"local/gpt-4o","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Count"}]}""");
        var events = Events(await response.Content.ReadAsStringAsync());

        Assert.True(events.Count(e => e.Name == "ping") >= 2, string.Join(",", events.Select(e => e.Name)));
        Assert.Equal("message_stop", events[^1].Name);
    }

    [Fact]
    public async Task Count_tokens_is_exact_from_an_anthropic_provider_and_an_estimate_elsewhere()
    {
        await using var anthropic = await MockProviderServer.StartAsync();
        anthropic.Transcripts.Enqueue(Transcript.Parse([
            """{"status":200,"headers":{"content-type":"application/json"}}""", """{"raw":"{\"input_tokens\":42}"}"""]));
        await using var openai = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("aliases: { claude-haiku-4-5: claude/claude-haiku-4-5-20251001 }\n",
            ("claude", anthropic.BaseUrl, "type: anthropic, discover_models: false"), ("local", openai.BaseUrl, "discover_models: false")));
        const string Body = """{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hello there, how are you today?"}]}""";

        using (var exact = await MessagesAsync(gateway, Body, "/v1/messages/count_tokens"))
        {
            Assert.Equal("""{"input_tokens":42}""", await exact.Content.ReadAsStringAsync());
        }
        var sent = Assert.Single(anthropic.Requests);
        Assert.Equal("/v1/messages/count_tokens", sent.Path);
        Assert.Equal(TestGateway.ProviderKey, sent.Headers["x-api-key"]);
        Assert.Equal("claude-haiku-4-5-20251001", JsonDocument.Parse(sent.Body).RootElement.GetProperty("model").GetString());

        using var estimate = await MessagesAsync(gateway, Body.Replace("claude-haiku-4-5", "local/gpt-4o", StringComparison.Ordinal), "/v1/messages/count_tokens");
        using var json = JsonDocument.Parse(await estimate.Content.ReadAsStringAsync());
        Assert.InRange(json.RootElement.GetProperty("input_tokens").GetInt32(), 10, 100);
        Assert.Empty(openai.Requests);
    }

    [Fact]
    public async Task A_whole_answer_is_an_anthropic_message()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await MessagesAsync(gateway, """{"model":"local/gpt-4o","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}""", "/v1/messages?beta=true");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var message = JsonDocument.Parse(body);
        var root = message.RootElement;
        Assert.Equal("message", root.GetProperty("type").GetString());
        Assert.Equal("""[{"type":"text","text":"Hello from the mock provider."}]""", root.GetProperty("content").GetRawText());
        Assert.Equal("end_turn", root.GetProperty("stop_reason").GetString());
        Assert.Equal(12, root.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(6, root.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), response.Headers.GetValues("request-id").Single());
    }

    [Theory]
    [InlineData(false, """{"model":"local/gpt-4o","max_tokens":10,"messages":[]}""", 200, 401, "authentication_error")]
    [InlineData(true, """{"model":"nowhere/gpt-4o","max_tokens":10,"messages":[]}""", 200, 404, "not_found_error")]
    [InlineData(true, """{"model":"local/gpt-4o","messages":[]}""", 200, 400, "invalid_request_error")]
    [InlineData(true, """{"model":"local/gpt-4o","max_tokens":10,"messages":[]}""", 500, 500, "api_error")]
    [InlineData(true, """{"model":"local/gpt-4o","max_tokens":10,"messages":[]}""", 429, 429, "rate_limit_error")]
    public async Task Errors_come_in_anthropics_shape_with_a_request_id(bool key, string json, int upstream, int status, string type)
    {
        await using var mock = await MockProviderServer.StartAsync(new MockBehavior { Status = upstream, RetryAfter = upstream == 429 ? "3" : null });
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("auth:\n  keys:\n    - { name: app, key: \"${TEST_CLIENT_KEY}\" }\n", ("local", mock.BaseUrl, "retries: 0")),
            environment: TestGateway.Environment(("TEST_CLIENT_KEY", TestGateway.ClientKey)));

        using var response = await MessagesAsync(gateway, json, key: key);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, (int)response.StatusCode);
        using var error = JsonDocument.Parse(body);
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal(type, error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(response.Headers.GetValues("request-id").Single(), error.RootElement.GetProperty("request_id").GetString());
        Assert.DoesNotContain(TestGateway.ProviderKey, body, StringComparison.Ordinal);
        if (status == 429)
        {
            Assert.Equal("3", response.Headers.GetValues("retry-after").Single());
        }
    }

    /// <summary>Valid JSON of the wrong shape inside (what a hostile or broken client sends): the client's 400, never a 500, and no upstream call.</summary>
    [Theory]
    [InlineData("""{"model":"local/gpt-4o","max_tokens":10,"messages":[1]}""")]
    [InlineData("""{"model":"local/gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"system":[1,"x"]}""")]
    [InlineData("""{"model":"local/gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"metadata":"user-1"}""")]
    [InlineData("""{"model":"local/gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"tools":[7]}""")]
    [InlineData("""{"model":"local/gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"tool_choice":"auto"}""")]
    [InlineData("""{"model":"local/gpt-4o","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":1,"name":"f","input":{}}]}]}""")]
    [InlineData("""{"model":"local/gpt-4o","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":5,"data":"AA=="}}]}]}""")]
    public async Task A_request_of_the_wrong_shape_inside_is_the_clients_400(string json)
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("local", mock.BaseUrl)));

        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(body);
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Empty(mock.Requests);
    }
}

public sealed class AliasTests
{
    [Fact]
    public async Task Bare_names_route_through_aliases_on_both_entry_points_and_allow_lists_see_the_target()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var extra = """
            strategies:
              smart: { targets: [local/gpt-4o] }
            aliases: { claude-sonnet-4-5: smart, claude-haiku-4-5: local/qwen3-8b }

            """;
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(extra, ("local", mock.BaseUrl)));

        using (var response = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
        }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("local/qwen3-8b", response.Headers.GetValues("X-Gateway-Model").Single());
        }
        using (var chat = await gateway.ChatAsync("""{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
            Assert.Equal("local/gpt-4o", chat.Headers.GetValues("X-Gateway-Model").Single());
        }
        Assert.Equal(["qwen3-8b", "gpt-4o"], mock.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("model").GetString()));
    }
}

public sealed class MessagesHooksTests
{
    [Fact]
    public async Task The_completion_log_says_which_api_and_has_the_usage_of_the_translated_answer()
    {
        var dir = Directory.CreateTempSubdirectory("gateway-messages-").FullName;
        try
        {
            var path = Path.Combine(dir, "completions.jsonl");
            await using var mock = await MockProviderServer.StartAsync();
            await using var gateway = await TestGateway.StartAsync(TestGateway.Config(
                $$"""completion_log: { sink: file, path: "{{path}}" }""" + "\n", ("local", mock.BaseUrl)));
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gateway.Host.Components.CompletionLog!.BatchDone += () => written.TrySetResult();

            using var response = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
            {
                Content = new StringContent("""{"model":"local/gpt-4o","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
            });
            await response.Content.ReadAsStringAsync();
            await written.Task.WaitAsync(TimeSpan.FromSeconds(10));

            using var record = JsonDocument.Parse(Assert.Single(File.ReadAllLines(path)));
            Assert.Equal("anthropic", record.RootElement.GetProperty("api").GetString());
            Assert.Equal("completed", record.RootElement.GetProperty("end").GetString());
            Assert.Equal(5, record.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt64());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

public sealed class MessagesResilienceTests
{
    private static async Task<List<(string Name, JsonElement Data)>> StreamAsync(TestGateway gateway, string model)
    {
        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent($$"""{"model":"{{model}}","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Count"}]}""", Encoding.UTF8, "application/json"),
        });
        var events = new List<(string, JsonElement)>();
        foreach (var block in (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            events.Add((lines[0]["event: ".Length..], JsonDocument.Parse(lines[1]["data: ".Length..]).RootElement.Clone()));
        }
        return events;
    }

    private static string Text(List<(string Name, JsonElement Data)> events) =>
        string.Concat(events.Where(e => e.Name == "content_block_delta").Select(e => e.Data.GetProperty("delta").GetProperty("text").GetString()));

    [Fact]
    public async Task A_broken_stream_is_continued_for_a_messages_client_as_one_message()
    {
        await using var first = await MockProviderServer.StartAsync(new MockBehavior { CloseAfter = 2 });
        await using var second = await MockProviderServer.StartAsync();
        var strategies = "strategies:\n  smart: { targets: [first/a, second/b], on_interrupt: continue }\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("first", first.BaseUrl, "discover_models: false"), ("second", second.BaseUrl, "discover_models: false, prefill: true")));

        var events = await StreamAsync(gateway, "smart");

        Assert.Equal("message_stop", events[^1].Name);
        Assert.Single(events, e => e.Name == "message_start");
        Assert.StartsWith("tok0 tok1", Text(events), StringComparison.Ordinal);
        Assert.Single(second.Requests);
    }

    [Fact]
    public async Task Redaction_applies_to_what_a_messages_client_reads()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var redact = "redact:\n  patterns: ['tok[13]']\n  replacement: \"[x]\"\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(redact, ("local", mock.BaseUrl)));

        var events = await StreamAsync(gateway, "local/m");

        Assert.Equal("tok0 [x] tok2 [x] tok4 ", Text(events));
        Assert.Equal("message_stop", events[^1].Name);
    }
}

internal static class MessagesRequestExtensions
{
    public static HttpRequestMessage WithKey(this HttpRequestMessage request, bool key)
    {
        if (key)
        {
            request.Headers.Add("x-api-key", TestGateway.ClientKey);
        }
        return request;
    }
}
