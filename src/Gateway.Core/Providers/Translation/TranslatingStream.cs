using System.Buffers;
using Gateway.Core.Proxy.Sse;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// A provider's event stream read as an OpenAI one: upstream bytes are cut into events by the one SSE framer, each
/// whole event goes through the stream's <see cref="StreamTranslator"/>, and reads return the translated bytes. A read
/// (also a zero-byte one) completes only once translated bytes are ready, so the copy loop's wait-then-read rhythm,
/// its flushes and the idle watchdog work exactly as on a passthrough stream. A stream that ends without its end
/// marker, or breaks after content, fails the read that would have ended it (an <see cref="IOException"/>): the
/// relay ends the client's stream abnormally, never cleanly.
/// </summary>
internal sealed class TranslatingStream : ReadOnlyStream
{
    // Gemini sends a whole tool call's arguments in one event.
    private const int MaxEventBytes = 8 << 20;
    private const int ReadBytes = 4096;

    private readonly Stream _upstream;
    private readonly StreamTranslator _translator;
    private readonly PooledBufferWriter _output = new(ReadBytes);
    private SseLineFramer _framer = new(MaxEventBytes);
    private readonly SseEventAssembler _events;
    private readonly RawEvents? _raw;
    private int _outputOffset;
    private bool _ended;
    private string? _failure;

    /// <param name="keepRaw">Keep the provider's events beside the translation (<see cref="Raw"/>), for a client of its own API.</param>
    public TranslatingStream(Stream upstream, StreamTranslator translator, bool keepRaw = false)
    {
        _upstream = upstream;
        _translator = translator;
        _events = new SseEventAssembler(translator) { Output = _output };
        _raw = keepRaw ? new RawEvents(_events) : null;
    }

    /// <summary>The provider's events as it sent them, when kept.</summary>
    public IRawAnswer? Raw => _raw;

    /// <summary>The stream's translator (the relay tells it whether the usage chunk is wanted).</summary>
    public StreamTranslator Translator => _translator;

    /// <summary>The provider refused the request before any content (see <see cref="StreamTranslator.Refusal"/>).</summary>
    public TranslationRefusal? Refusal => _translator.Refusal;

    // Pooled: a read that waits on the network would otherwise box its state machine once per event.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_outputOffset == _output.WrittenCount)
        {
            if (_ended)
            {
                return _failure is null ? 0 : throw new IOException(_failure);
            }
            _output.Reset();
            _outputOffset = 0;
            // Wait without a buffer first: an idle stream holds none.
            var wait = _upstream.ReadAsync(Memory<byte>.Empty, cancellationToken);
            await wait;
            // Rented for this read only: between events (minutes, for an idle stream) nothing is held.
            var chunk = ArrayPool<byte>.Shared.Rent(ReadBytes);
            int read;
            try
            {
                read = await _upstream.ReadAsync(chunk, cancellationToken);
                _framer.Feed(chunk.AsSpan(0, read), (ISseLineSink?)_raw ?? _events);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
            if (read == 0)
            {
                _ended = true;
                if (!_translator.OnEnd(_output))
                {
                    _failure ??= "ended the stream before its end marker";
                }
                continue;
            }
            if (_translator.Failure is { } failure)
            {
                _ended = true;
                _failure = failure;
            }
            else if (_framer.OverflowedLines > 0)
            {
                _ended = true;
                _failure = $"sent an event over {MaxEventBytes >> 20} MiB";
            }
        }
        int count = Math.Min(buffer.Length, _output.WrittenCount - _outputOffset);
        _output.WrittenSpan.Slice(_outputOffset, count).CopyTo(buffer.Span);
        _outputOffset += count;
        return count;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _upstream.Dispose();
            _framer.Dispose();
            _output.Dispose();
            _translator.Dispose();
            _events.Dispose();
            _raw?.Dispose();
        }
        base.Dispose(disposing);
    }
}
