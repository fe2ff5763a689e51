using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gateway.MockProvider;

/// <summary>An OpenAI-compatible fake provider on a real Kestrel listener (loopback).</summary>
public sealed class MockProviderServer : IAsyncDisposable
{
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

    private readonly WebApplication _app;
    private readonly bool _record;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly Channel<RecordedRequest> _arrivals = Channel.CreateUnbounded<RecordedRequest>();

    private MockProviderServer(WebApplication app, MockBehavior defaults, bool record)
    {
        _app = app;
        Defaults = defaults;
        _record = record;
    }

    /// <summary>The OpenAI API root, e.g. http://127.0.0.1:41234/v1.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyCollection<RecordedRequest> Requests => _requests;

    /// <summary>What a request gets unless its body says otherwise (tests change it at run time: a provider that recovers).</summary>
    public MockBehavior Defaults { get; set; }

    private int _failuresServed;

    public RecordedRequest LastRequest => _requests.Last();

    /// <summary>
    /// Answers to replay, one per request in order (the last one repeats): a provider's exact bytes, for any wire
    /// format. Empty: the mock generates its answers (OpenAI's format, or Anthropic's on /v1/messages).
    /// </summary>
    public ConcurrentQueue<Transcript> Transcripts { get; } = new();

    private Transcript? _lastTranscript;

    /// <summary>What GET /v1/models lists (tests change it at run time).</summary>
    public IReadOnlyList<string> Models { get; set; } = ["mock-model"];

    /// <summary>GET /v1/models: answer this status instead of the list (200 = the list).</summary>
    public int ModelsStatus { get; set; } = 200;

    /// <summary>GET /v1/models: wait this long before answering.</summary>
    public TimeSpan ModelsDelay { get; set; }

    /// <summary>GET /v1/models: send these bytes instead of the list (malformed answers).</summary>
    public string? ModelsRawBody { get; set; }

    private int _modelsRequests;

    public int ModelsRequests => Volatile.Read(ref _modelsRequests);

    /// <summary>Waits for the next request to arrive (a signal, not a poll).</summary>
    public async Task<RecordedRequest> NextArrivalAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        return await _arrivals.Reader.ReadAsync(cancel.Token);
    }

    public static async Task<MockProviderServer> StartAsync(MockBehavior? defaults = null, string host = "127.0.0.1", int port = 0, bool record = true)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Parse(host), port);
        });
        var app = builder.Build();
        var server = new MockProviderServer(app, defaults ?? new MockBehavior(), record);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (HttpMethods.IsGet(request.Method) && path == "/v1/models")
        {
            await ServeModelsAsync(context);
            return;
        }

        var body = await ReadBodyAsync(request.BodyReader, context.RequestAborted);
        RecordedRequest? record = null;
        if (_record)
        {
            record = new RecordedRequest
            {
                Method = request.Method,
                Path = path,
                Query = request.QueryString.Value ?? "",
                RawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? "",
                Headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                Body = body,
            };
            _requests.Enqueue(record);
            _arrivals.Writer.TryWrite(record);
            context.RequestAborted.Register(() => record.Aborted.TrySetResult());
        }

        try
        {
            if (Transcripts.TryDequeue(out var transcript) || _lastTranscript is not null)
            {
                _lastTranscript = transcript ?? _lastTranscript;
                await _lastTranscript!.ReplayAsync(context);
                return;
            }
            if (path == "/v1/messages")
            {
                await AnthropicAnswers.ServeAsync(context, body, Defaults);
                return;
            }
            var (model, stream, behavior, prefill, includeUsage) = Parse(body, Defaults);
            if (behavior.FailTimes > 0 && Interlocked.Increment(ref _failuresServed) > behavior.FailTimes)
            {
                behavior = behavior.Healthy();
            }
            if (behavior.Reset)
            {
                context.Abort();
                return;
            }
            if (behavior.DelayMs > 0)
            {
                await Task.Delay(behavior.DelayMs, context.RequestAborted);
            }
            context.Response.Headers["x-ratelimit-remaining-requests"] = "99";
            context.Response.Headers["openai-processing-ms"] = "1";
            context.Response.Headers["Set-Cookie"] = "mock-session=secret; Path=/";
            if (behavior.RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = behavior.RetryAfter;
            }
            if (behavior.RetryAfterMs is not null)
            {
                context.Response.Headers["retry-after-ms"] = behavior.RetryAfterMs;
            }
            if (prefill is not null && behavior.RejectPrefill)
            {
                behavior = behavior with { Status = 400, ErrorCode = "prefill_not_supported" };
            }
            if (behavior.Status != 200)
            {
                var code = behavior.ErrorCode ?? $"mock_{behavior.Status}";
                await WriteJsonAsync(context, behavior.Status, Encoding.UTF8.GetBytes(
                    $$$"""{"error":{"message":"mock failure {{{behavior.Status}}}","type":"server_error","param":null,"code":"{{{code}}}"}}"""));
                return;
            }
            if (behavior.FirstEventError)
            {
                context.Response.ContentType = "text/event-stream";
                WriteEvent(context.Response.BodyWriter, """{"error":{"message":"overloaded","type":"server_error","param":null,"code":"overloaded"}}""");
                await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
                return;
            }
            switch (path)
            {
                case "/v1/chat/completions" when stream:
                    await StreamChatAsync(context, model, behavior, record, chat: true, prefill, includeUsage);
                    break;
                case "/v1/completions" when stream:
                    await StreamChatAsync(context, model, behavior, record, chat: false);
                    break;
                case "/v1/chat/completions":
                    await WriteJsonAsync(context, 200, Encoding.UTF8.GetBytes(
                        $$$"""{"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,"model":{{{model}}},"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock provider."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"""));
                    break;
                case "/v1/completions":
                    await WriteJsonAsync(context, 200, Encoding.UTF8.GetBytes(
                        $$$"""{"id":"cmpl-mock","object":"text_completion","created":1700000000,"model":{{{model}}},"choices":[{"index":0,"text":"Hello from the mock provider.","finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}}"""));
                    break;
                case "/v1/embeddings":
                    await WriteJsonAsync(context, 200, Encoding.UTF8.GetBytes(
                        $$$"""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5,0.125]}],"model":{{{model}}},"usage":{"prompt_tokens":3,"total_tokens":3}}"""));
                    break;
                default:
                    // Any other POST endpoint: echo what arrived, so forwarding of unknown endpoints can be checked.
                    await WriteJsonAsync(context, 200, Encoding.UTF8.GetBytes(
                        "{\"object\":\"echo\",\"path\":" + JsonSerializer.Serialize(path) + ",\"model\":" + model + "}"));
                    break;
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        finally
        {
            record?.Finished.TrySetResult();
        }
    }

    private async Task ServeModelsAsync(HttpContext context)
    {
        Interlocked.Increment(ref _modelsRequests);
        if (ModelsDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(ModelsDelay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        if (ModelsStatus != 200)
        {
            await WriteJsonAsync(context, ModelsStatus, """{"error":{"message":"models unavailable","type":"server_error","param":null,"code":null}}"""u8.ToArray());
            return;
        }
        if (ModelsRawBody is not null)
        {
            await WriteJsonAsync(context, 200, Encoding.UTF8.GetBytes(ModelsRawBody));
            return;
        }
        var list = new StringBuilder("""{"object":"list","data":[""");
        for (int i = 0; i < Models.Count; i++)
        {
            list.Append(i == 0 ? "" : ",").Append("{\"id\":").Append(JsonSerializer.Serialize(Models[i]))
                .Append(",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"mock\",\"extra_field\":{\"ignored\":true}}");
        }
        await WriteJsonAsync(context, 200, Encoding.UTF8.GetBytes(list.Append("]}").ToString()));
    }

    /// <summary>The whole streamed answer is "tok0 tok1 ... "; a prefill (a trailing assistant message) gets the rest of it.</summary>
    private static List<string> Tokens(int count, string? prefill)
    {
        var tokens = Enumerable.Range(0, count).Select(i => $"tok{i} ").ToList();
        if (prefill is null)
        {
            return tokens;
        }
        var full = string.Concat(tokens);
        if (!full.StartsWith(prefill, StringComparison.Ordinal))
        {
            return ["[prefill mismatch]"];
        }
        var rest = full[prefill.Length..];
        var result = new List<string>();
        int start = 0;
        for (int i = 0; i < rest.Length; i++)
        {
            if (rest[i] == ' ')
            {
                result.Add(rest[start..(i + 1)]);
                start = i + 1;
            }
        }
        return result;
    }

    private static async Task StreamChatAsync(
        HttpContext context, string model, MockBehavior behavior, RecordedRequest? record, bool chat, string? prefill = null, bool includeUsage = false)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var writer = response.BodyWriter;
        var cancel = context.RequestAborted;
        await writer.FlushAsync(cancel);
        if (behavior.FirstChunkDelayMs > 0)
        {
            await Task.Delay(behavior.FirstChunkDelayMs, cancel);
        }
        var id = JsonSerializer.Serialize(behavior.Id);
        var tokens = Tokens(behavior.Chunks, prefill);
        for (int i = 0; i < tokens.Count; i++)
        {
            if (behavior.ChunkDelayMs > 0)
            {
                await Task.Delay(behavior.ChunkDelayMs, cancel);
            }
            if (i == behavior.CloseAfter)
            {
                // An abort resets the connection, and a reset makes the peer drop what it has not read yet:
                // give the chunks already sent time to be read first, so the cut happens after them.
                await Task.Delay(100, cancel);
                context.Abort();
                return;
            }
            if (i == behavior.HangAfter)
            {
                await Task.Delay(Timeout.Infinite, cancel);
            }
            var stamp = behavior.Stamp ? $",\"mock_sent\":{Stopwatch.GetTimestamp()}" : "";
            var text = JsonSerializer.Serialize(tokens[i]);
            var delta = chat
                ? $$$"""{"id":{{{id}}},"object":"chat.completion.chunk","created":1700000000,"model":{{{model}}},"choices":[{"index":0,"delta":{"content":{{{text}}}},"finish_reason":null}]{{{stamp}}}}"""
                : $$$"""{"id":"cmpl-mock","object":"text_completion","created":1700000000,"model":{{{model}}},"choices":[{"index":0,"text":{{{text}}},"finish_reason":null}]{{{stamp}}}}""";
            WriteEvent(writer, delta);
            await writer.FlushAsync(cancel);
            record?.ChunkSent();
        }
        var finish = chat
            ? $$$"""{"id":{{{id}}},"object":"chat.completion.chunk","created":1700000000,"model":{{{model}}},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"""
            : $$$"""{"id":"cmpl-mock","object":"text_completion","created":1700000000,"model":{{{model}}},"choices":[{"index":0,"text":"","finish_reason":"stop"}]}""";
        WriteEvent(writer, finish);
        if (includeUsage)
        {
            WriteEvent(writer, $$$"""{"id":{{{id}}},"object":"chat.completion.chunk","created":1700000000,"model":{{{model}}},"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":{{{tokens.Count}}},"total_tokens":{{{9 + tokens.Count}}}}}""");
        }
        if (!behavior.NoDone)
        {
            writer.Write(s_done);
        }
        await writer.FlushAsync(cancel);
        if (behavior.HangAtEnd)
        {
            await Task.Delay(Timeout.Infinite, cancel);
        }
    }

    private static void WriteEvent(PipeWriter writer, string json)
    {
        writer.Write("data: "u8);
        writer.Write(Encoding.UTF8.GetBytes(json));
        writer.Write("\n\n"u8);
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, byte[] json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = json.Length;
        await context.Response.BodyWriter.WriteAsync(json, context.RequestAborted);
    }

    private static async Task<byte[]> ReadBodyAsync(PipeReader reader, CancellationToken cancel)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancel);
            if (result.IsCompleted)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <returns>
    /// The model as a JSON string literal (ready to embed), the stream flag, the behaviour for this request, and the
    /// content of a trailing assistant message (a prefill to continue), if any.
    /// </returns>
    private static (string Model, bool Stream, MockBehavior Behavior, string? Prefill, bool IncludeUsage) Parse(byte[] body, MockBehavior defaults)
    {
        string model = "\"unknown\"";
        bool stream = false;
        var behavior = defaults;
        string? prefill = null;
        bool includeUsage = false;
        if (body.Length == 0)
        {
            return (model, stream, behavior, prefill, includeUsage);
        }
        var reader = new Utf8JsonReader(body);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = JsonSerializer.Serialize(reader.GetString());
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                stream = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("mock"u8))
            {
                reader.Read();
                behavior = behavior.With(ref reader);
            }
            else if (reader.ValueTextEquals("stream_options"u8))
            {
                reader.Read();
                using var options = JsonDocument.ParseValue(ref reader);
                includeUsage = options.RootElement.ValueKind == JsonValueKind.Object
                    && options.RootElement.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                reader.Read();
                using var messages = JsonDocument.ParseValue(ref reader);
                prefill = TrailingAssistantContent(messages.RootElement);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return (model, stream, behavior, prefill, includeUsage);
    }

    private static string? TrailingAssistantContent(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            return null;
        }
        var last = messages[messages.GetArrayLength() - 1];
        return last.ValueKind == JsonValueKind.Object
            && last.TryGetProperty("role", out var role) && role.ValueEquals("assistant")
            && last.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
            ? content.GetString()
            : null;
    }
}
