using System.Buffers;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Core.Proxy.Sse;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>
/// A <c>/v1/messages</c> client as the request path sees it: a client that sent the OpenAI pivot request and reads
/// OpenAI's format. The driver, every provider type and every response hook (usage, tpm, the completion log,
/// redaction) run unchanged on OpenAI bytes; this decorator of the transport turns what is written into Anthropic's
/// format on its way out — a stream event by event (<see cref="MessagesStream"/>), a whole answer or error at the end
/// (<see cref="CompleteAsync"/>). A provider's own Content-Length no longer holds and is not passed on.
/// When an Anthropic provider answered the client's own request (<see cref="NativeRequest"/>), its bytes go out
/// instead, as it sent them: of what the path writes, only the gateway's own events (keepalives, an error) are.
/// </summary>
internal sealed class MessagesDownstream : IDownstream, IDisposable
{
    // A whole answer is held until it ends: bounded like a provider's error body, generously.
    private const int MaxAnswerBytes = 64 << 20;

    private readonly IDownstream _client;
    private readonly MessagesFacts _facts;
    private readonly NativeRequest? _native;
    private readonly string _requestId;
    private readonly PooledBufferWriter _openAiBody;
    private readonly PipeReader _body;
    private PipeWriter? _writer;
    private bool _stream;
    private int _status = 200;

    /// <param name="openAiBody">The pivot request (owned from here: returned to the pool on <see cref="Dispose"/>).</param>
    public MessagesDownstream(IDownstream client, PooledBufferWriter openAiBody, MessagesFacts facts, NativeRequest? native, string requestId)
    {
        _client = client;
        _facts = facts;
        _native = native;
        _requestId = requestId;
        _openAiBody = openAiBody;
        _body = PipeReader.Create(new ReadOnlySequence<byte>(openAiBody.WrittenMemory));
    }

    public PipeReader RequestBody => _body;

    public long? RequestContentLength => _openAiBody.WrittenCount;

    public string? RequestHeader(string name) => _client.RequestHeader(name);

    public bool HasStarted => _client.HasStarted;

    public void SetStatus(int statusCode)
    {
        _status = statusCode;
        _client.SetStatus(statusCode >= 400 ? MessagesErrors.For(statusCode).Status : statusCode);
        _client.SetHeader("request-id", _requestId);
        if (_facts.Dropped is { } dropped)
        {
            _client.SetHeader("X-Gateway-Dropped-Params", dropped);
        }
    }

    public void SetHeader(string name, string value)
    {
        if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
        {
            _stream = value.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);
        }
        else if (name.Equals("X-Gateway-Dropped-Params", StringComparison.OrdinalIgnoreCase) && _facts.Dropped is { } dropped)
        {
            // What the entry point left out and what the provider's translation left out, both named.
            value = dropped + "," + value;
        }
        _client.SetHeader(name, value);
    }

    public void SetHeader(string name, HeaderStringValues values)
    {
        if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
        {
            _stream = values.ToString().StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);
        }
        _client.SetHeader(name, values);
    }

    public void SetContentLength(long length)
    {
        // The translation changes the length.
    }

    public PipeWriter ResponseBody => _writer ??= _native?.Committed is { } raw
        ? (_stream ? new EventWriter(_client.ResponseBody, new GatewayEvents(), raw) : new RawWriter(_client.ResponseBody, raw))
        : _stream && _status < 400 ? new EventWriter(_client.ResponseBody, new MessagesStream(_facts), raw: null) : new HeldWriter();

    public void Abort() => _client.Abort();

    /// <summary>After the relay: a whole answer (or a provider's error answer) goes out translated.</summary>
    public async ValueTask CompleteAsync()
    {
        if (_writer is not HeldWriter held || held.Written.IsEmpty)
        {
            return;
        }
        var output = _client.ResponseBody;
        if (_status >= 400)
        {
            MessagesErrors.Write(output, MessagesErrors.For(_status).Type, MessagesErrors.MessageOf(held.Written), _requestId);
        }
        else if (!new MessagesAnswer(_facts).Translate(held.Written, output))
        {
            MessagesErrors.Write(output, "api_error", "The provider's answer could not be read.", _requestId);
        }
        await output.FlushAsync();
    }

    public void Dispose()
    {
        (_writer as IDisposable)?.Dispose();
        _body.Complete();
        _openAiBody.Dispose();
    }

    /// <summary>
    /// Takes OpenAI SSE bytes as the copy loop writes them and passes Anthropic events to the client; keepalives as
    /// Anthropic's ping. With a raw answer, the provider's whole events go first, then what the translator makes of
    /// the gateway's own events. The translation of one write is gathered here and handed to the client in one
    /// write: Kestrel's response writer takes a lock for every span it hands out, and an event is written in pieces.
    /// </summary>
    private sealed class EventWriter : PipeWriter, IDisposable
    {
        private static readonly byte[] s_ping = "event: ping\ndata: {\"type\":\"ping\"}\n\n"u8.ToArray();

        private readonly PipeWriter _client;
        private readonly SseEventAssembler _events;
        private readonly StreamTranslator _translator;
        private readonly IRawAnswer? _raw;
        private readonly PooledBufferWriter _pending = new(4096);
        private readonly PooledBufferWriter _translated = new(4096);
        private SseLineFramer _framer;

        public EventWriter(PipeWriter client, StreamTranslator translator, IRawAnswer? raw)
        {
            _client = client;
            _translator = translator;
            _raw = raw;
            _events = new SseEventAssembler(translator) { Output = _translated, CommentAs = s_ping };
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _pending.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _pending.GetSpan(sizeHint);

        public override void Advance(int bytes)
        {
            _pending.Advance(bytes);
            _raw?.DrainTo(_client);
            _framer.Feed(_pending.WrittenSpan, _events);
            _pending.Reset();
            if (_translated.WrittenCount > 0)
            {
                _client.Write(_translated.WrittenSpan);
                _translated.Reset();
            }
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => _client.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => _client.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => _client.Complete(exception);

        public void Dispose()
        {
            _framer.Dispose();
            _events.Dispose();
            _pending.Dispose();
            _translated.Dispose();
            _translator.Dispose();
        }
    }

    /// <summary>Beside a raw stream: of the pivot, only the gateway's own error event (after the commit point) becomes Anthropic's.</summary>
    private sealed class GatewayEvents : StreamTranslator
    {
        public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
        {
            if (FirstEvent.IsErrorObject(data))
            {
                var chunk = new OpenAiChunk(data);
                MessagesStream.Error(output, chunk.ErrorCode.SequenceEqual("overloaded"u8) ? "overloaded_error"u8 : "api_error"u8, chunk.ErrorMessage);
            }
        }

        public override bool OnEnd(IBufferWriter<byte> output) => true;

        public override void Dispose()
        {
        }
    }

    /// <summary>A whole raw answer: written once, at the relay's first write; the pivot it writes is not kept.</summary>
    private sealed class RawWriter : PipeWriter, IDisposable
    {
        private readonly PipeWriter _client;
        private readonly IRawAnswer _raw;
        private readonly PooledBufferWriter _discarded = new(4096);

        public RawWriter(PipeWriter client, IRawAnswer raw)
        {
            _client = client;
            _raw = raw;
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _discarded.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _discarded.GetSpan(sizeHint);

        public override void Advance(int bytes)
        {
            _discarded.Reset();
            _raw.DrainTo(_client);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => _client.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => _client.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => _client.Complete(exception);

        public void Dispose() => _discarded.Dispose();
    }

    /// <summary>Holds a whole answer until the relay is done with it (bounded; past the bound the rest is not kept).</summary>
    private sealed class HeldWriter : PipeWriter, IDisposable
    {
        private readonly PooledBufferWriter _held = new(16 * 1024);

        public ReadOnlySpan<byte> Written => _held.WrittenSpan;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _held.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _held.GetSpan(sizeHint);

        public override void Advance(int bytes)
        {
            _held.Advance(bytes);
            if (_held.WrittenCount > MaxAnswerBytes)
            {
                _held.Reset();
            }
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => new(new FlushResult(false, false));

        public override void CancelPendingFlush()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }

        public void Dispose() => _held.Dispose();
    }
}
