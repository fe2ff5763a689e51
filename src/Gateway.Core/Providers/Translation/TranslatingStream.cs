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
internal sealed class TranslatingStream : Stream, ISseLineSink
{
    // Gemini sends a whole tool call's arguments in one event.
    private const int MaxEventBytes = 8 << 20;
    private const int ReadBytes = 4096;

    private readonly Stream _upstream;
    private readonly StreamTranslator _translator;
    private readonly PooledBufferWriter _output = new(ReadBytes);
    private SseLineFramer _framer = new(MaxEventBytes);
    private byte[]? _read;
    private byte[] _data = [];
    private int _dataLength;
    private bool _hasData;
    private readonly byte[] _name = new byte[64];
    private int _nameLength;
    private int _outputOffset;
    private bool _ended;
    private string? _failure;

    public TranslatingStream(Stream upstream, StreamTranslator translator)
    {
        _upstream = upstream;
        _translator = translator;
    }

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
            _read ??= ArrayPool<byte>.Shared.Rent(ReadBytes);
            int read = await _upstream.ReadAsync(_read, cancellationToken);
            if (read == 0)
            {
                _ended = true;
                if (!_translator.OnEnd(_output))
                {
                    _failure ??= "ended the stream before its end marker";
                }
                continue;
            }
            _framer.Feed(_read.AsSpan(0, read), this);
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

    void ISseLineSink.OnLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            if (_hasData || _nameLength > 0)
            {
                _translator.OnEvent(_name.AsSpan(0, _nameLength), _data.AsSpan(0, _dataLength), _output);
            }
            _hasData = false;
            _dataLength = 0;
            _nameLength = 0;
            return;
        }
        if (SseLine.TryGetData(line, out var data))
        {
            if (_hasData)
            {
                Append("\n"u8);
            }
            Append(data);
            _hasData = true;
        }
        else if (SseLine.TryGetField(line, "event"u8, out var name) && name.Length <= _name.Length)
        {
            name.CopyTo(_name);
            _nameLength = name.Length;
        }
        // Comments (": ping"), id: and retry: carry nothing a translation needs.
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_data.Length - _dataLength < bytes.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_dataLength + bytes.Length, 1024));
            _data.AsSpan(0, _dataLength).CopyTo(larger);
            if (_data.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_data);
            }
            _data = larger;
        }
        bytes.CopyTo(_data.AsSpan(_dataLength));
        _dataLength += bytes.Length;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _upstream.Dispose();
            _framer.Dispose();
            _output.Dispose();
            _translator.Dispose();
            if (_read is not null)
            {
                ArrayPool<byte>.Shared.Return(_read);
                _read = null;
            }
            if (_data.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_data);
                _data = [];
            }
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
