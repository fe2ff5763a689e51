using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace Gateway.Core.Proxy.Continuation;

/// <summary>
/// Forwards an event stream whole events at a time: a partial event is held back until its blank line arrives, so
/// the client never holds half an event that a continuation could not finish, and a transform sees whole events.
/// A continuation's chunks get the original response's id on the way through.
/// </summary>
internal sealed class EventRelay : IDisposable
{
    private const int MaxEventBytes = 1 << 20;
    private readonly ResponseHooks.IBodyTransform? _transform;
    private readonly bool _dropUsageChunks;
    private readonly ArrayBufferWriter<byte>? _transformed;
    private ArrayBufferWriter<byte>? _kept;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _length;

    /// <param name="dropUsageChunks">Remove the usage-only chunk ("choices": [] with "usage") the gateway asked for on the client's behalf.</param>
    public EventRelay(ResponseHooks.IBodyTransform? transform = null, bool dropUsageChunks = false)
    {
        _transform = transform;
        _dropUsageChunks = dropUsageChunks;
        _transformed = transform is null && !dropUsageChunks ? null : new ArrayBufferWriter<byte>(4096);
    }

    /// <summary>Bytes read before the commit point come first.</summary>
    public void Load(ReadOnlySpan<byte> prefix)
    {
        EnsureSpace(prefix.Length);
        prefix.CopyTo(_buffer.AsSpan(_length));
        _length += prefix.Length;
    }

    /// <summary>Bytes written to the client so far.</summary>
    public long BytesSent { get; private set; }

    /// <param name="events">Sees every byte the client gets (the stream scanner, and the completion buffer when teed).</param>
    /// <param name="id">The id every chunk is given (raw JSON string contents), or null to pass chunks unchanged.</param>
    public async ValueTask<CopyResult> RunAsync(
        Stream upstream, PipeWriter client, IBodyTee events, byte[]? id, StreamWatchdog watchdog, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                if (Emit(client, events, id) && (await client.FlushAsync(cancellationToken)).IsCompleted)
                {
                    return CopyResult.ClientGone;
                }
                var wait = upstream.ReadAsync(Memory<byte>.Empty, cancellationToken);
                if (!wait.IsCompletedSuccessfully)
                {
                    watchdog.Waiting();
                    await wait;
                    await watchdog.ResumeAsync();
                }
                if (!EnsureSpace(4096))
                {
                    // An event larger than any chunk a model sends: not a stream this relay can hold back.
                    return CopyResult.UpstreamError;
                }
                int read = await upstream.ReadAsync(_buffer.AsMemory(_length), cancellationToken);
                if (read == 0)
                {
                    // A trailing partial event is dropped: the client never gets half an event.
                    if (_transform is not null)
                    {
                        _transformed!.ResetWrittenCount();
                        _transform.Finish(_transformed);
                        client.Write(_transformed.WrittenSpan);
                        events.Append(_transformed.WrittenSpan);
                        BytesSent += _transformed.WrittenCount;
                        await client.FlushAsync(cancellationToken);
                    }
                    return CopyResult.Success;
                }
                _length += read;
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return CopyResult.ClientGone;
        }
        catch (Exception)
        {
            return CopyResult.UpstreamError;
        }
    }

    /// <returns>True when complete events were written.</returns>
    private bool Emit(PipeWriter client, IBodyTee events, byte[]? id)
    {
        var buffered = _buffer.AsSpan(0, _length);
        int end = LastEventEnd(buffered);
        if (end <= 0)
        {
            return false;
        }
        var complete = buffered[..end];
        if (_dropUsageChunks)
        {
            // The tee still sees the usage chunk (usage extraction reads it); the client does not get it.
            events.Append(complete);
            _transformed!.ResetWrittenCount();
            WithoutUsageChunks(complete, _transform, _transformed);
            client.Write(_transformed.WrittenSpan);
        }
        else if (_transform is not null)
        {
            _transformed!.ResetWrittenCount();
            Transform(complete, _transform, _transformed);
            client.Write(_transformed.WrittenSpan);
            events.Append(_transformed.WrittenSpan);
        }
        else if (id is null)
        {
            client.Write(complete);
            events.Append(complete);
        }
        else
        {
            WriteWithId(client, complete, id);
            events.Append(complete);
        }
        BytesSent += end;
        buffered[end..].CopyTo(_buffer);
        _length -= end;
        return true;
    }

    private void WithoutUsageChunks(ReadOnlySpan<byte> events, ResponseHooks.IBodyTransform? transform, ArrayBufferWriter<byte> output)
    {
        if (transform is null)
        {
            // The common case keeps the events straight into the output: no second buffer.
            CopyWithoutUsageChunks(events, output);
            return;
        }
        var kept = _kept ??= new ArrayBufferWriter<byte>(events.Length);
        kept.ResetWrittenCount();
        CopyWithoutUsageChunks(events, kept);
        Transform(kept.WrittenSpan, transform, output);
    }

    private static void CopyWithoutUsageChunks(ReadOnlySpan<byte> events, ArrayBufferWriter<byte> kept)
    {
        while (!events.IsEmpty)
        {
            int one = FirstEventLength(events);
            var @event = events[..(one > 0 ? one : events.Length)];
            events = events[@event.Length..];
            bool usageOnly = @event.StartsWith("data:"u8) && @event.IndexOf("\"choices\":[]"u8) >= 0 && @event.IndexOf("\"usage\":{"u8) >= 0;
            if (!usageOnly)
            {
                kept.Write(@event);
            }
        }
    }

    /// <summary>The length of the first event (through its blank line), or 0 when there is none whole.</summary>
    private static int FirstEventLength(ReadOnlySpan<byte> events)
    {
        var rest = events;
        while (Sse.SseLineFramer.NextLine(ref rest, out var line))
        {
            if (line.IsEmpty)
            {
                return events.Length - rest.Length;
            }
        }
        return 0;
    }

    private static void Transform(ReadOnlySpan<byte> events, ResponseHooks.IBodyTransform transform, IBufferWriter<byte> output) =>
        ResponseHooks.TransformChain.ForEachData(events, transform, output);

    private static int LastEventEnd(ReadOnlySpan<byte> buffered) => Sse.SseLineFramer.CompleteEventsLength(buffered);

    private static void WriteWithId(PipeWriter client, ReadOnlySpan<byte> events, byte[] id)
    {
        while (Sse.SseLineFramer.NextLine(ref events, out var line, out var withEnd))
        {
            int valueStart = Sse.SseLine.TryGetData(line, out _) ? IdValueStart(withEnd) : -1;
            if (valueStart < 0)
            {
                client.Write(withEnd);
                continue;
            }
            int valueEnd = withEnd[valueStart..].IndexOf((byte)'"') + valueStart;
            client.Write(withEnd[..valueStart]);
            client.Write(id);
            client.Write(withEnd[valueEnd..]);
        }
    }

    /// <summary>Offset in <paramref name="line"/> of the top-level "id" string's contents, or -1.</summary>
    private static int IdValueStart(ReadOnlySpan<byte> line)
    {
        int brace = line.IndexOf((byte)'{');
        if (brace < 0)
        {
            return -1;
        }
        var json = line[brace..];
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowMultipleValues = true });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return -1;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId)
                {
                    // The raw contents end at the first unescaped quote; ids never contain escaped quotes, so the first quote after the start.
                    return reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped ? brace + (int)reader.TokenStartIndex + 1 : -1;
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return -1;
    }

    private bool EnsureSpace(int needed)
    {
        if (_buffer.Length - _length >= needed)
        {
            return true;
        }
        int size = Math.Max(_buffer.Length * 2, _length + needed);
        if (size > MaxEventBytes + 4096)
        {
            return false;
        }
        var larger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
        return true;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
