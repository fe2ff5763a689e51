using System.Text.Json;
using Gateway.Core.Providers;

namespace Gateway.Core.Models;

/// <summary>
/// Fetches GET {base_url}/models from one provider with its key and parses the answer tolerantly: OpenAI's
/// {"data":[{"id":...}]} (what OpenAI, vLLM, llama.cpp server, Ollama's /v1, Groq and OpenRouter return), unknown
/// fields ignored. Anything else is a failure for that provider only.
/// </summary>
internal static class ModelDiscovery
{
    // A model list is a few KB; a provider that sends megabytes is answering something else.
    private const int MaxResponseBytes = 8 * 1024 * 1024;

    public static async Task<(IReadOnlyList<DiscoveredModel>? Models, string? Failure)> FetchAsync(
        ProviderEndpoint provider, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var timer = time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), cancellation, timeout, Timeout.InfiniteTimeSpan);
        using var request = new HttpRequestMessage(HttpMethod.Get, provider.UriFor("models", default));
        foreach (var (name, value) in provider.Config.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value.Reveal());
        }
        if (provider.AuthorizationHeader is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", provider.AuthorizationHeader);
        }
        try
        {
            using var response = await provider.Invoker.SendAsync(request, cancellation.Token);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"answered {(int)response.StatusCode}");
            }
            if (response.Content.Headers.ContentLength > MaxResponseBytes)
            {
                return (null, "sent an oversized model list");
            }
            await using var body = await response.Content.ReadAsStreamAsync(cancellation.Token);
            using var document = await JsonDocument.ParseAsync(new BoundedStream(body, MaxResponseBytes), default, cancellation.Token);
            return Parse(document.RootElement);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, "did not answer within " + Config.Durations.Format(timeout));
        }
        catch (HttpRequestException)
        {
            return (null, "is unreachable");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return (null, "sent a malformed model list");
        }
    }

    private static (IReadOnlyList<DiscoveredModel>?, string?) Parse(JsonElement root)
    {
        var items = root.ValueKind switch
        {
            JsonValueKind.Object when root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array => data,
            JsonValueKind.Array => root,
            _ => default,
        };
        if (items.ValueKind != JsonValueKind.Array)
        {
            return (null, "sent a model list without a \"data\" array");
        }
        var models = new List<DiscoveredModel>();
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object
                && item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                && id.GetString() is { Length: > 0 and <= 256 } name && !name.Any(char.IsControl))
            {
                long created = item.TryGetProperty("created", out var c) && c.TryGetInt64(out var value) ? value : 0;
                models.Add(new DiscoveredModel(name, created));
            }
        }
        return (models, null);
    }

    /// <summary>Fails a read past the limit instead of buffering an unbounded answer.</summary>
    private sealed class BoundedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            _read += n;
            return _read > limit ? throw new IOException("model list too large") : n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
