using System.Buffers;

namespace Gateway.Core.ResponseHooks;

/// <summary>
/// Several response middleware transforms on one response, composed in registration order: each event the first
/// writes is handed to the second, and so on; at the end of a stream each transform's held-back events pass through
/// the transforms after it. One pair of buffers per response, reused for every event.
/// </summary>
internal sealed class TransformChain : IBodyTransform
{
    private readonly IBodyTransform[] _transforms;
    private readonly ArrayBufferWriter<byte> _current = new(1024);
    private readonly ArrayBufferWriter<byte> _next = new(1024);

    public TransformChain(IBodyTransform[] transforms) => _transforms = transforms;

    public void TransformEvent(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        _current.ResetWrittenCount();
        _transforms[0].TransformEvent(data, _current);
        output.Write(Through(1));
    }

    public void Finish(IBufferWriter<byte> output)
    {
        for (int i = 0; i < _transforms.Length; i++)
        {
            _current.ResetWrittenCount();
            _transforms[i].Finish(_current);
            output.Write(Through(i + 1));
        }
    }

    public void TransformBody(ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        _current.ResetWrittenCount();
        _transforms[0].TransformBody(body, _current);
        for (int i = 1; i < _transforms.Length; i++)
        {
            _next.ResetWrittenCount();
            _transforms[i].TransformBody(_current.WrittenSpan, _next);
            _current.ResetWrittenCount();
            _current.Write(_next.WrittenSpan);
        }
        output.Write(_current.WrittenSpan);
    }

    /// <summary>The events in <see cref="_current"/>, passed through the transforms from <paramref name="first"/> on.</summary>
    private ReadOnlySpan<byte> Through(int first)
    {
        for (int i = first; i < _transforms.Length; i++)
        {
            _next.ResetWrittenCount();
            ForEachData(_current.WrittenSpan, _transforms[i], _next);
            _current.ResetWrittenCount();
            _current.Write(_next.WrittenSpan);
        }
        return _current.WrittenSpan;
    }

    /// <summary>
    /// Each data line of <paramref name="events"/> goes through <paramref name="transform"/>, which writes whole
    /// events in its place; comment and field lines pass as they are (blank lines are the transform's to write).
    /// </summary>
    internal static void ForEachData(ReadOnlySpan<byte> events, IBodyTransform transform, IBufferWriter<byte> output)
    {
        while (Proxy.Sse.SseLineFramer.NextLine(ref events, out var line, out var withEnd))
        {
            if (Proxy.Sse.SseLine.TryGetData(line, out var payload))
            {
                transform.TransformEvent(payload, output);
            }
            else if (!line.IsEmpty)
            {
                // Comments and other fields pass; the blank line after a transformed data line is the transform's to write.
                output.Write(withEnd);
            }
        }
    }
}
