using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Server.Tests.Translation;

/// <summary>type: gemini through real sockets: the official OpenAI SDK in front, a mock replaying Gemini's wire format behind.</summary>
public sealed class GeminiProviderTests
{
    private const string Gemini = "type: gemini, discover_models: false";

    private static OpenAIClient Client(TestGateway gateway) =>
        new(new ApiKeyCredential(TestGateway.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl, "/v1") });

    private static Transcript Json(int status, string body) => Transcript.Parse([
        JsonSerializer.Serialize(new { status, headers = new Dictionary<string, string> { ["content-type"] = "application/json" } }),
        JsonSerializer.Serialize(new { raw = body }),
    ]);

    [Fact]
    public async Task Sdk_streams_parallel_calls_and_reads_a_whole_answer_with_the_key_in_a_header_never_the_url()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(TranscriptVectors.Load("gemini", "G03a-two-calls-one-chunk"));
        mock.Transcripts.Enqueue(TranscriptVectors.Load("gemini", "G14-response-calls-and-thoughts"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("gemini", mock.BaseUrl, Gemini)));
        var chat = Client(gateway).GetChatClient("gemini/gemini-2.5-flash");

        var content = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Weather?")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                content.Append(part.Text);
            }
            foreach (var call in update.ToolCallUpdates)
            {
                if (!calls.TryGetValue(call.Index, out var entry))
                {
                    calls[call.Index] = entry = (call.ToolCallId, call.FunctionName, new StringBuilder());
                }
                entry.Arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal("Checking both.", content.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal([("get_weather", """{"city":"Paris"}"""), ("get_weather", """{"city":"Oslo"}""")], calls.Values.Select(c => (c.Name, c.Arguments.ToString())).ToList());
        Assert.Equal(2, calls.Values.Select(c => c.Id).Distinct().Count());

        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("Weather?")]);
        Assert.Equal("Two calls: ", whole.Content[0].Text);
        Assert.Equal(ChatFinishReason.ToolCalls, whole.FinishReason);
        Assert.Equal(["get_weather", "get_time"], whole.ToolCalls.Select(c => c.FunctionName));
        Assert.Equal("fc-own", whole.ToolCalls[1].Id);
        Assert.Equal(11, whole.Usage.InputTokenCount);
        Assert.Equal(12, whole.Usage.OutputTokenCount);
        Assert.Equal(5, whole.Usage.OutputTokenDetails.ReasoningTokenCount);

        var requests = mock.Requests.ToList();
        Assert.Equal("/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse", requests[0].RawTarget);
        Assert.Equal("/v1/models/gemini-2.5-flash:generateContent", requests[1].RawTarget);
        Assert.All(requests, r =>
        {
            Assert.Equal(TestGateway.ProviderKey, r.Headers["x-goog-api-key"]);
            Assert.False(r.Headers.ContainsKey("Authorization"));
            Assert.DoesNotContain("key=", r.RawTarget, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_blocked_prompt_is_the_clients_400_while_a_broken_first_call_falls_back()
    {
        await using var gemini = await MockProviderServer.StartAsync();
        await using var openai = await MockProviderServer.StartAsync();
        var strategies = "strategies:\n  smart: { targets: [gemini/gemini-2.5-flash, local/gpt-4o] }\n";
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(strategies,
            ("gemini", gemini.BaseUrl, Gemini + ", retries: 0"), ("local", openai.BaseUrl, "discover_models: false")));
        const string Request = """{"model":"smart","stream":true,"messages":[{"role":"user","content":"Hi"}]}""";

        gemini.Transcripts.Enqueue(TranscriptVectors.Load("gemini", "G06b-prompt-blocked"));
        using (var blocked = await gateway.ChatAsync(Request))
        {
            await OpenAiAssert.ErrorAsync(blocked, HttpStatusCode.BadRequest, "content_filter", "prompt");
            Assert.Empty(openai.Requests);
        }

        gemini.Transcripts.Enqueue(TranscriptVectors.Load("gemini", "G07b-malformed-call-first"));
        using var fallback = await gateway.ChatAsync(Request);
        Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
        Assert.Equal("local/gpt-4o", fallback.Headers.GetValues("X-Gateway-Model").Single());
        Assert.Equal("tok0 tok1 tok2 tok3 tok4 ", OpenAiStream.Read(await fallback.Content.ReadAsStringAsync()).Content);
    }

    [Theory]
    [InlineData(429, "RESOURCE_EXHAUSTED", "Quota exceeded", ""","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]""", HttpStatusCode.TooManyRequests, "upstream_rate_limited")]
    [InlineData(403, "PERMISSION_DENIED", "API key not valid", "", HttpStatusCode.BadGateway, "upstream_auth_failed")]
    [InlineData(400, "FAILED_PRECONDITION", "User location is not supported", "", HttpStatusCode.BadGateway, "upstream_auth_failed")]
    [InlineData(503, "UNAVAILABLE", "The model is overloaded", "", HttpStatusCode.ServiceUnavailable, "overloaded")]
    [InlineData(400, "INVALID_ARGUMENT", "The input token count exceeds the maximum number of tokens allowed", "", HttpStatusCode.BadRequest, "context_length_exceeded")]
    [InlineData(500, "INTERNAL", "Internal error", "", HttpStatusCode.BadGateway, "upstream_bad_response")]
    public async Task Gemini_errors_become_ours_by_status_and_body(int status, string grpc, string message, string details, HttpStatusCode expected, string code)
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Json(status, $$$"""{"error":{"code":{{{status}}},"message":"{{{message}}}","status":"{{{grpc}}}"{{{details}}}}}"""));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("gemini", mock.BaseUrl, Gemini + ", retries: 0, max_retry_wait: 0s")));

        using var response = await gateway.ChatAsync("""{"model":"gemini/gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}]}""");
        await OpenAiAssert.ErrorAsync(response, expected, code, code == "context_length_exceeded" ? "messages" : null);
        if (status == 429)
        {
            Assert.Equal("37", response.Headers.GetValues("Retry-After").Single());
        }
    }

    [Fact]
    public async Task Embeddings_come_back_as_floats_and_as_the_sdks_default_base64()
    {
        await using var mock = await MockProviderServer.StartAsync();
        mock.Transcripts.Enqueue(Json(200, """{"embeddings":[{"values":[0.25,-0.5,0.125]},{"values":[1,2,3]}]}"""));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("gemini", mock.BaseUrl, Gemini)));

        var embeddings = Client(gateway).GetEmbeddingClient("gemini/text-embedding-004");
        var generated = await embeddings.GenerateEmbeddingsAsync(["first", "second"]);
        Assert.Equal([0.25f, -0.5f, 0.125f], generated.Value[0].ToFloats().ToArray());
        Assert.Equal([1f, 2f, 3f], generated.Value[1].ToFloats().ToArray());

        using var floats = await gateway.PostAsync("/v1/embeddings", """{"model":"gemini/text-embedding-004","input":"first","encoding_format":"float","dimensions":3}""");
        using var json = JsonDocument.Parse(await floats.Content.ReadAsStringAsync());
        Assert.Equal("[0.25,-0.5,0.125]", json.RootElement.GetProperty("data")[0].GetProperty("embedding").GetRawText());
        Assert.Equal("text-embedding-004", json.RootElement.GetProperty("model").GetString());

        var requests = mock.Requests.ToList();
        Assert.Equal("/v1/models/text-embedding-004:batchEmbedContents", requests[0].RawTarget);
        Assert.Equal(
            """{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"first"}]},"outputDimensionality":3}]}""",
            Encoding.UTF8.GetString(requests[1].Body));

        using var other = await gateway.PostAsync("/v1/completions", """{"model":"gemini/gemini-2.5-flash","prompt":"x"}""");
        await OpenAiAssert.ErrorAsync(other, HttpStatusCode.BadRequest, "unsupported_endpoint");
        Assert.Equal(2, mock.Requests.Count);
    }
}
