using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Core.Config;

namespace Gateway.Core.ResponseHooks.CompletionLog;

/// <summary>
/// Elasticsearch/OpenSearch: each batch is one POST {url}/_bulk (NDJSON index actions), authenticated with
/// "Authorization: ApiKey …" when configured. Connection failures, 429 and 5xx are retried with exponential
/// backoff (5 tries); other answers fail the batch at once. A 200 is not the end of it: _bulk answers 200 with
/// <c>"errors": true</c> and a status per item, so items answered 429/5xx are sent again (alone) with the same
/// backoff, and items refused for good (a mapping error) are dropped and reported.
/// </summary>
internal sealed class BulkSink : ICompletionSink
{
    private const int Tries = 5;
    private readonly HttpMessageInvoker _http;
    private readonly Uri _bulk;
    private readonly byte[] _action;
    private readonly string? _authorization;
    private readonly TimeProvider _time;
    private readonly TimeSpan _backoff;

    /// <param name="backoff">The first retry's wait (doubled each try).</param>
    public BulkSink(ElasticsearchConfig config, TimeProvider time, TimeSpan? backoff = null)
    {
        _http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });
        _bulk = new Uri(config.Url.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/_bulk");
        _action = Encoding.UTF8.GetBytes("{\"index\":{\"_index\":" + JsonSerializer.Serialize(config.Index) + "}}\n");
        _authorization = config.ApiKey is null ? null : "ApiKey " + config.ApiKey.Reveal();
        _time = time;
        _backoff = backoff ?? TimeSpan.FromMilliseconds(500);
    }

    public async ValueTask<SinkResult> WriteAsync(IReadOnlyList<byte[]> records, CancellationToken cancellationToken)
    {
        var pending = records;
        var result = SinkResult.Written;
        for (int attempt = 1; ; attempt++)
        {
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _bulk) { Content = new ByteArrayContent(Payload(pending)) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
                if (_authorization is not null)
                {
                    request.Headers.TryAddWithoutValidation("Authorization", _authorization);
                }
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
                using var response = await _http.SendAsync(request, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    var answer = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                    var (retry, rejected, reason) = Items(answer, pending);
                    result = result.WithRejected(rejected, reason);
                    if (retry.Count == 0)
                    {
                        return result;
                    }
                    pending = retry;
                    failure = $"_bulk refused {retry.Count} item(s) for now (429/5xx)";
                    if (attempt == Tries)
                    {
                        return result.WithExhausted(retry.Count, failure);
                    }
                    await Task.Delay(_backoff * Math.Pow(2, attempt - 1), _time, cancellationToken);
                    continue;
                }
                failure = $"_bulk answered {(int)response.StatusCode}";
                if (response.StatusCode != HttpStatusCode.TooManyRequests && (int)response.StatusCode < 500)
                {
                    throw new InvalidOperationException(failure);
                }
            }
            catch (HttpRequestException e)
            {
                failure = "_bulk unreachable: " + e.HttpRequestError;
            }
            catch (OperationCanceledException)
            {
                failure = "_bulk timed out";
            }
            if (attempt == Tries)
            {
                throw new InvalidOperationException(failure);
            }
            await Task.Delay(_backoff * Math.Pow(2, attempt - 1), _time, cancellationToken);
        }
    }

    private byte[] Payload(IReadOnlyList<byte[]> records)
    {
        var body = new MemoryStream();
        foreach (var record in records)
        {
            body.Write(_action);
            body.Write(record);
            body.WriteByte((byte)'\n');
        }
        return body.ToArray();
    }

    /// <summary>
    /// The per-item outcome of a 200: the records to send again (429/5xx), how many were refused for good, and the
    /// first refusal's reason ("mapper_parsing_exception: failed to parse field [x]"). An answer without
    /// <c>"errors": true</c>, or one that cannot be read, counts as all written (it was a 2xx).
    /// </summary>
    private static (List<byte[]> Retry, int Rejected, string? Reason) Items(byte[] answer, IReadOnlyList<byte[]> sent)
    {
        var retry = new List<byte[]>();
        int rejected = 0;
        string? reason = null;
        try
        {
            using var json = JsonDocument.Parse(answer);
            var root = json.RootElement;
            if (!root.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.True
                || !root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                return (retry, 0, null);
            }
            int index = 0;
            foreach (var item in items.EnumerateArray())
            {
                if (index >= sent.Count)
                {
                    break;
                }
                foreach (var action in item.EnumerateObject())
                {
                    int status = action.Value.TryGetProperty("status", out var s) && s.TryGetInt32(out var code) ? code : 200;
                    if (status == 429 || status >= 500)
                    {
                        retry.Add(sent[index]);
                    }
                    else if (status >= 300)
                    {
                        rejected++;
                        reason ??= Reason(action.Value, status);
                    }
                }
                index++;
            }
        }
        catch (JsonException)
        {
        }
        return (retry, rejected, reason);
    }

    private static string Reason(JsonElement action, int status)
    {
        if (action.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            var type = error.TryGetProperty("type", out var t) ? t.GetString() : null;
            var text = error.TryGetProperty("reason", out var r) ? r.GetString() : null;
            var reason = $"{status} {type}: {text}";
            return reason.Length > 300 ? reason[..300] : reason;
        }
        return $"item answered {status}";
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
