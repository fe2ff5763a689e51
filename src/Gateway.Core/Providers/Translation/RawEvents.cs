using System.Buffers;
using Gateway.Core.Proxy.Sse;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// A provider's event stream kept as it arrives, beside its translation: each line the framer hands over is kept
/// (ended with '\n', whatever line end the provider used) before it goes on to the translation, and whole events are
/// handed out (never half of one, so whatever the gateway writes between them — a keepalive, its own error event —
/// lands on an event boundary). An <c>error</c> event is not kept: the translation fails the stream there and the
/// gateway ends it with its own error event, so the client reads one error, not two.
/// </summary>
/// <remarks>
/// Filled by the copy loop's reads and drained by writes to the client, which the keepalive timer makes too while
/// the loop waits: the two meet under one lock, held for a line or a copy.
/// </remarks>
internal sealed class RawEvents : ISseLineSink, IRawAnswer, IDisposable
{
    private readonly ISseLineSink _translation;
    private readonly PooledBufferWriter _kept = new(4096);
    private readonly Lock _lock = new();
    private int _whole;
    private bool _inError;

    public RawEvents(ISseLineSink translation) => _translation = translation;

    void ISseLineSink.OnLine(ReadOnlySpan<byte> line)
    {
        lock (_lock)
        {
            if (line.IsEmpty)
            {
                if (_inError)
                {
                    // Whatever of the error event was kept (a line before its event: line) goes with it.
                    _kept.Truncate(_whole);
                    _inError = false;
                }
                else
                {
                    _kept.Write("\n"u8);
                    _whole = _kept.WrittenCount;
                }
            }
            else if (!_inError)
            {
                _inError = SseLine.TryGetField(line, "event"u8, out var name) && name.Trim((byte)' ').SequenceEqual("error"u8);
                if (!_inError)
                {
                    _kept.Write(line);
                    _kept.Write("\n"u8);
                }
            }
        }
        _translation.OnLine(line);
    }

    public void DrainTo(IBufferWriter<byte> output)
    {
        lock (_lock)
        {
            if (_whole == 0)
            {
                return;
            }
            output.Write(_kept.WrittenSpan[.._whole]);
            // What follows the whole events is the start of the next one.
            _kept.DropFront(_whole);
            _whole = 0;
        }
    }

    public void Dispose() => _kept.Dispose();
}
