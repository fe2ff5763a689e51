using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.ResponseHooks.CompletionLog;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Server.Tests;

/// <summary>completion_log: the JSON-lines file, the _bulk sink and its retries, and the bounded queue.</summary>
public sealed class CompletionLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-completions-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task WaitForBatchAsync(TestGateway gateway)
    {
        var writer = gateway.Host.Components.CompletionLog!;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        writer.BatchDone += () => done.TrySetResult();
        return done.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task FileSink_WritesOneValidRecordPerRequest_WithBodiesOnlyWhenAsked()
    {
        var path = Path.Combine(_dir, "completions.jsonl");
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config($$"""
            completion_log: { sink: file, path: "{{path}}", capture_bodies: true }
            strategies:
              smart: { targets: [local/m] }
            """, ("local", mock.BaseUrl)));
        var written = WaitForBatchAsync(gateway);

        using var response = await gateway.ChatAsync("""{"model":"smart","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Count"}]}""");
        await response.Content.ReadAsStringAsync();
        await written;

        var line = Assert.Single(File.ReadAllLines(path));
        var record = JsonDocument.Parse(line).RootElement;
        Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), record.GetProperty("request_id").GetString());
        Assert.Equal("smart", record.GetProperty("model").GetString());
        Assert.Equal("local/m", record.GetProperty("served_by").GetString());
        Assert.Equal("completed", record.GetProperty("end").GetString());
        Assert.True(record.GetProperty("stream").GetBoolean());
        Assert.Equal(14, record.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.Equal("stop", record.GetProperty("finish_reason").GetString());
        Assert.Equal("Count", record.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal("tok0 tok1 tok2 tok3 tok4 ", record.GetProperty("completion").GetString());
        Assert.Equal(JsonValueKind.Null, record.GetProperty("key").ValueKind);
    }

    [Fact]
    public async Task FileSink_RotatesAtMaxFileBytes()
    {
        var path = Path.Combine(_dir, "rotating.jsonl");
        var sink = new FileSink(path, maxBytes: 4096);
        var record = new byte[1500];
        Array.Fill(record, (byte)'x');

        for (int i = 0; i < 5; i++)
        {
            await sink.WriteAsync([record], CancellationToken.None);
        }
        await sink.DisposeAsync();

        Assert.True(File.Exists(path + ".1"));
        Assert.True(new FileInfo(path).Length <= 4096);
        Assert.Equal(5 * 1501, new FileInfo(path).Length + new FileInfo(path + ".1").Length + (File.Exists(path + ".2") ? new FileInfo(path + ".2").Length : 0));
    }

    [Fact]
    public async Task BulkSink_PostsNdjson_WithItsApiKey_AndRetriesFailures()
    {
        await using var elastic = await FakeBulkEndpoint.StartAsync(503, 503);
        var config = new ElasticsearchConfig(elastic.Url, "gateway-completions", new Secret("es-key-123"), 10, TimeSpan.FromMilliseconds(50));
        await using var sink = new BulkSink(config, TimeProvider.System, backoff: TimeSpan.FromMilliseconds(10));

        await sink.WriteAsync(["""{"request_id":"a"}"""u8.ToArray(), """{"request_id":"b"}"""u8.ToArray()], CancellationToken.None);

        var requests = elastic.Requests.ToList();
        Assert.Equal([503, 503, 200], requests.Select(r => r.Status));
        var last = requests[^1];
        Assert.Equal("ApiKey es-key-123", last.Authorization);
        Assert.Equal("application/x-ndjson", last.ContentType);
        Assert.Equal("{\"index\":{\"_index\":\"gateway-completions\"}}\n{\"request_id\":\"a\"}\n{\"index\":{\"_index\":\"gateway-completions\"}}\n{\"request_id\":\"b\"}\n", last.Body);
    }

    [Fact]
    public async Task BulkSink_GivesUpOnAClientError_AtOnce()
    {
        await using var elastic = await FakeBulkEndpoint.StartAsync(400);
        var config = new ElasticsearchConfig(elastic.Url, "idx", null, 10, TimeSpan.FromMilliseconds(50));
        await using var sink = new BulkSink(config, TimeProvider.System, backoff: TimeSpan.FromMilliseconds(10));

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await sink.WriteAsync(["{}"u8.ToArray()], CancellationToken.None));
        Assert.Single(elastic.Requests);
    }

    [Fact]
    public async Task BulkSink_PartialFailure_RetriesOnlyTheItemsAnswered429Or5xx_AndReportsTheRefusedOnes()
    {
        // 4 records: #0 written, #1 refused for good (mapping), #2 answered 429 then written, #3 answered 503 twice then written.
        await using var elastic = await FakeBulkEndpoint.StartAsync();
        elastic.ItemStatuses.Enqueue([201, 400, 429, 503]);
        elastic.ItemStatuses.Enqueue([201, 503]);
        var config = new ElasticsearchConfig(elastic.Url, "idx", null, 10, TimeSpan.FromMilliseconds(50));
        await using var sink = new BulkSink(config, TimeProvider.System, backoff: TimeSpan.FromMilliseconds(10));

        var result = await sink.WriteAsync(["""{"n":0}"""u8.ToArray(), """{"n":1}"""u8.ToArray(), """{"n":2}"""u8.ToArray(), """{"n":3}"""u8.ToArray()], CancellationToken.None);

        Assert.Equal(1, result.Rejected);
        Assert.Equal(0, result.Exhausted);
        Assert.Equal("400 mapper_parsing_exception: failed to parse item 1", result.FirstReason);
        var bodies = elastic.Requests.Select(r => string.Join(",", r.Body.Split('\n').Where(l => l.StartsWith("{\"n\"", StringComparison.Ordinal)))).ToList();
        Assert.Equal(["{\"n\":0},{\"n\":1},{\"n\":2},{\"n\":3}", "{\"n\":2},{\"n\":3}", "{\"n\":3}"], bodies);
    }

    [Fact]
    public async Task CompletionLog_CountsAndLogsRefusedRecords_ByReason_OncePerBatch()
    {
        await using var elastic = await FakeBulkEndpoint.StartAsync();
        elastic.ItemStatuses.Enqueue([400, 400, 429]);
        for (int i = 0; i < 4; i++)
        {
            elastic.ItemStatuses.Enqueue([429]);
        }
        var config = new CompletionLogConfig(CompletionSink.Elasticsearch, "unused", 1 << 20, false,
            new ElasticsearchConfig(elastic.Url, "idx", null, 3, TimeSpan.FromSeconds(10)), QueueCapacity: 10);
        var logs = new LogCollector();
        await using (var writer = new CompletionLogWriter(config, new BulkSink(config.Elasticsearch!, TimeProvider.System, TimeSpan.FromMilliseconds(5)), TimeProvider.System, logs.CreateLogger("test")))
        {
            var batch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            writer.BatchDone += () => batch.TrySetResult();
            writer.Enqueue("{}"u8.ToArray());
            writer.Enqueue("{}"u8.ToArray());
            writer.Enqueue("{}"u8.ToArray());
            await batch.Task.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(2, writer.DroppedFor(DropReason.Rejected));
            Assert.Equal(1, writer.DroppedFor(DropReason.RetriesExhausted));
            Assert.Equal(0, writer.Written);
        }
        var line = Assert.Single(logs.Lines, l => l.Contains("completion_log", StringComparison.Ordinal));
        Assert.Contains("refused 3 of a batch of 3 records; first reason: 400 mapper_parsing_exception: failed to parse item 0", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ElasticsearchSink_ReceivesTheGatewaysRecords()
    {
        await using var elastic = await FakeBulkEndpoint.StartAsync();
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config($$"""
            completion_log:
              sink: elasticsearch
              elasticsearch: { url: "{{elastic.Url}}", index: completions, api_key: "${ES_KEY}", flush_interval: 50ms }
            """, ("local", mock.BaseUrl)), environment: TestGateway.Environment(("ES_KEY", "es-secret-456")));
        var written = WaitForBatchAsync(gateway);

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
        await written;

        var request = Assert.Single(elastic.Requests);
        Assert.Equal("ApiKey es-secret-456", request.Authorization);
        var lines = request.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("""{"index":{"_index":"completions"}}""", lines[0]);
        Assert.Equal(18, JsonDocument.Parse(lines[1]).RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.DoesNotContain("es-secret-456", gateway.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FullQueue_DropsAndCounts_InsteadOfBlocking()
    {
        var release = new TaskCompletionSource();
        var sink = new BlockingSink(release.Task);
        var config = new CompletionLogConfig(CompletionSink.File, "unused", 1 << 20, false, null, QueueCapacity: 2);
        await using var writer = new CompletionLogWriter(config, sink, TimeProvider.System, NullLogger.Instance);
        writer.Enqueue("{}"u8.ToArray());
        await sink.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 20; i++)
        {
            writer.Enqueue("{}"u8.ToArray());
        }
        var elapsed = clock.Elapsed;
        release.SetResult();

        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"enqueueing took {elapsed}");
        Assert.Equal(18, writer.Dropped);
        Assert.Equal(18, writer.DroppedFor(DropReason.QueueFull));
    }

    private sealed class BlockingSink(Task release) : ICompletionSink
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<SinkResult> WriteAsync(IReadOnlyList<byte[]> records, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await release;
            return SinkResult.Written;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
