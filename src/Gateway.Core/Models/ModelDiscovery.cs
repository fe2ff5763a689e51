using System.Text.Json;
using Gateway.Core.Providers;

namespace Gateway.Core.Models;

/// <summary>
/// Fetches a provider's model list with its own credentials, page by page as its type asks
/// (<see cref="IProviderType.ModelsRequest"/>: OpenAI's <c>GET {base_url}/models</c>, Anthropic's and Gemini's paged
/// lists), and parses each page tolerantly (<see cref="IProviderType.ParseModels"/>). A type that lists what its
/// config names (Azure's deployments) makes no request. Anything unusable is a failure for that provider only.
/// </summary>
internal static class ModelDiscovery
{
    // A model list is a few KB; a provider that sends megabytes is answering something else.
    private const int MaxResponseBytes = 8 * 1024 * 1024;
    private const int MaxPages = 20;

    public static async Task<(IReadOnlyList<DiscoveredModel>? Models, string? Failure)> FetchAsync(
        ProviderEndpoint provider, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var timer = time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), cancellation, timeout, Timeout.InfiniteTimeSpan);
        var models = new List<DiscoveredModel>();
        string? page = null;
        for (int pages = 0; pages < MaxPages; pages++)
        {
            using var request = provider.Type.ModelsRequest(provider, page);
            if (request is null)
            {
                return (provider.Type.ConfiguredModels(provider), null);
            }
            foreach (var (name, value) in provider.Config.Headers)
            {
                request.Headers.Remove(name);
                request.Headers.TryAddWithoutValidation(name, value.Reveal());
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
                var (found, next, failure) = provider.Type.ParseModels(document.RootElement);
                if (found is null)
                {
                    return (null, failure);
                }
                models.AddRange(found);
                if (next is null || next == page)
                {
                    break;
                }
                page = next;
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
        return (models, null);
    }

    /// <summary>OpenAI's {"data":[{"id":...}]} (what OpenAI, vLLM, llama.cpp server, Ollama's /v1, Groq and OpenRouter return), unknown fields ignored.</summary>
    public static (List<DiscoveredModel>? Models, string? Failure) ParseOpenAiList(JsonElement root)
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
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                && IsModelName(id.GetString()))
            {
                long created = item.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt64(out var value) ? value
                    : item.TryGetProperty("created_at", out var at) && at.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(
                        at.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date)
                        ? date.ToUnixTimeSeconds() : 0;
                models.Add(new DiscoveredModel(id.GetString()!, created));
            }
        }
        return (models, null);
    }

    public static bool IsModelName(string? name) => name is { Length: > 0 and <= 256 } && !name.Any(char.IsControl);

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
