using System.Buffers;
using Gateway.Core.Proxy.Sse;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// Gathers the lines the SSE framer hands over into whole events (the <c>event:</c> name, the <c>data:</c> lines
/// joined with '\n') and gives each to a <see cref="StreamTranslator"/>, whose output goes where the owner says. Used by
/// the translating read side (a provider's stream) and the translating write side (an entry point's answer).
/// </summary>
internal sealed class SseEventAssembler : ISseLineSink, IDisposable
{
    private readonly StreamTranslator _translator;
    // An event name is short (content_block_delta); pooled like the data buffer, so a stream allocates neither.
    private const int MaxNameBytes = 64;
    private byte[] _name = ArrayPool<byte>.Shared.Rent(MaxNameBytes);
    private byte[] _data = [];
    private int _dataLength;
    private int _nameLength;
    private bool _hasData;

    public SseEventAssembler(StreamTranslator translator) => _translator = translator;

    /// <summary>Where the events go (set before each feed).</summary>
    public IBufferWriter<byte>? Output { get; set; }

    /// <summary>What an SSE comment (the gateway's keepalive) becomes in the output: null drops it (a provider's stream).</summary>
    public byte[]? CommentAs { get; init; }

    void ISseLineSink.OnLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            if (_hasData || _nameLength > 0)
            {
                _translator.OnEvent(_name.AsSpan(0, _nameLength), _data.AsSpan(0, _dataLength), Output!);
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
        else if (SseLine.TryGetField(line, "event"u8, out var name) && name.Length <= MaxNameBytes)
        {
            name.CopyTo(_name);
            _nameLength = name.Length;
        }
        else if (CommentAs is { } replacement && line[0] == (byte)':')
        {
            Output!.Write(replacement);
        }
        // id: and retry: lines carry nothing a translation needs.
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

    public void Dispose()
    {
        if (_name.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_name);
            _name = [];
        }
        if (_data.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_data);
            _data = [];
        }
    }
}
