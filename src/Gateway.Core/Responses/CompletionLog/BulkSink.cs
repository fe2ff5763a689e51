using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Core.Config;

namespace Gateway.Core.Responses.CompletionLog;

/// <summary>
/// Elasticsearch/OpenSearch: each batch is one POST {url}/_bulk (NDJSON index actions), authenticated with
/// "Authorization: ApiKey …" when configured. Connection failures, 429 and 5xx are retried with exponential
/// backoff (5 tries); other answers fail the batch at once.
/// </summary>
public sealed class BulkSink : ICompletionSink
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
        _action = Encoding.UTF8.GetBytes("{\"index\":{\"_index\":" + System.Text.Json.JsonSerializer.Serialize(config.Index) + "}}\n");
        _authorization = config.ApiKey is null ? null : "ApiKey " + config.ApiKey.Reveal();
        _time = time;
        _backoff = backoff ?? TimeSpan.FromMilliseconds(500);
    }

    public async ValueTask WriteAsync(IReadOnlyList<byte[]> records, CancellationToken cancellationToken)
    {
        var body = new MemoryStream();
        foreach (var record in records)
        {
            body.Write(_action);
            body.Write(record);
            body.WriteByte((byte)'\n');
        }
        var payload = body.ToArray();
        for (int attempt = 1; ; attempt++)
        {
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _bulk) { Content = new ByteArrayContent(payload) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
                if (_authorization is not null)
                {
                    request.Headers.TryAddWithoutValidation("Authorization", _authorization);
                }
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
                using var response = await _http.SendAsync(request, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
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

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
