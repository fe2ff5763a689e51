using System.Buffers;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// A provider's whole (non-streamed) answer read as an OpenAI one: the first read takes the provider's body whole
/// (bounded), translates it once, and the reads hand out the translation. A body the translator cannot read, or
/// one that refuses the request, reads as empty with <see cref="Failure"/> or <see cref="Refusal"/> set: the attempt
/// sees that before the commit point (an unusable answer may still fall back; a refusal is the client's error).
/// </summary>
internal sealed class TranslatedBody : ReadOnlyStream
{
    private const int MaxBodyBytes = 64 << 20;

    private readonly Stream _upstream;
    private readonly BodyTranslator _translator;
    private ArrayBufferWriter<byte>? _output;
    private int _offset;
    private readonly RawBody? _raw;

    /// <param name="keepRaw">Keep the provider's answer beside the translation (<see cref="Raw"/>), for a client of its own API.</param>
    public TranslatedBody(Stream upstream, BodyTranslator translator, bool keepRaw = false)
    {
        _upstream = upstream;
        _translator = translator;
        _raw = keepRaw ? new RawBody() : null;
    }

    /// <summary>The provider's answer as it sent it, when kept.</summary>
    public IRawAnswer? Raw => _raw;

    /// <summary>Why the provider's answer could not be translated (too large, not its API's format).</summary>
    public string? Failure { get; private set; }

    public TranslationRefusal? Refusal => _translator.Refusal;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_output is null)
        {
            var body = ArrayPool<byte>.Shared.Rent(16 * 1024);
            int length = 0;
            try
            {
                while (true)
                {
                    if (length == body.Length)
                    {
                        if (body.Length >= MaxBodyBytes)
                        {
                            Failure = $"sent an answer over {MaxBodyBytes >> 20} MiB";
                            _output = new ArrayBufferWriter<byte>(1);
                            return 0;
                        }
                        var larger = ArrayPool<byte>.Shared.Rent(body.Length * 2);
                        body.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(body);
                        body = larger;
                    }
                    int read = await _upstream.ReadAsync(body.AsMemory(length), cancellationToken);
                    if (read == 0)
                    {
                        break;
                    }
                    length += read;
                }
                _raw?.Keep(body.AsSpan(0, length));
                var output = new ArrayBufferWriter<byte>(Math.Max(length, 256));
                if (length > 0 && !_translator.Translate(body.AsSpan(0, length), output))
                {
                    Failure = _translator.Refusal is null ? "sent an answer that is not in its API's format" : null;
                    output.Clear();
                }
                _output = output;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
        int count = Math.Min(buffer.Length, _output.WrittenCount - _offset);
        _output.WrittenSpan.Slice(_offset, count).CopyTo(buffer.Span);
        _offset += count;
        return count;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _upstream.Dispose();
            _raw?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>The whole answer, handed out once.</summary>
    private sealed class RawBody : IRawAnswer, IDisposable
    {
        private PooledBufferWriter? _kept;

        public void Keep(ReadOnlySpan<byte> body)
        {
            _kept = new PooledBufferWriter(Math.Max(body.Length, 1));
            _kept.Write(body);
        }

        public void DrainTo(IBufferWriter<byte> output)
        {
            if (_kept is { WrittenCount: > 0 })
            {
                output.Write(_kept.WrittenSpan);
                _kept.Reset();
            }
        }

        public void Dispose() => _kept?.Dispose();
    }
}
