using System.Buffers;
using Gateway.Core.Proxy;

namespace Gateway.Core.ResponseHooks;

/// <summary>
/// The registered response middleware, in order. At the commit point it asks each one what it wants from this
/// response; when none wants anything, the response costs nothing here.
/// </summary>
internal sealed class ResponsePipeline
{
    private readonly IResponseHook[] _middleware;
    private readonly CompletionQueue _queue;
    private readonly TimeProvider _time;

    public ResponsePipeline(IEnumerable<IResponseHook> middleware, CompletionQueue queue, TimeProvider time)
    {
        _middleware = middleware.ToArray();
        _queue = queue;
        _time = time;
    }

    public static readonly ResponsePipeline Empty = new([], null!, TimeProvider.System);

    public bool IsEmpty => _middleware.Length == 0;

    /// <summary>Consults every middleware for this response; null when none is interested.</summary>
    internal ResponseTracking? Begin(ProxyRequest request, IDownstream client, int status, bool isEventStream, string servedBy, long started, ReadOnlySequence<byte> requestBody, long bufferCap)
    {
        if (_middleware.Length == 0)
        {
            return null;
        }
        var start = new ResponseStart(request, client, status, isEventStream, servedBy, started, requestBody);
        ResponseTracking? tracking = null;
        foreach (var middleware in _middleware)
        {
            var hook = middleware.OnResponse(start);
            if (hook == default)
            {
                continue;
            }
            tracking ??= new ResponseTracking(start, _queue, _time);
            tracking.Add(hook, bufferCap);
        }
        return tracking;
    }
}

/// <summary>What the middleware asked for on one response: the buffer to tee into, the transform, the callbacks.</summary>
internal sealed class ResponseTracking
{
    private readonly ResponseStart _start;
    private readonly CompletionQueue _queue;
    private readonly TimeProvider _time;
    private readonly List<OnCompletion> _callbacks = [];
    private List<IBodyTransform>? _transforms;

    public ResponseTracking(ResponseStart start, CompletionQueue queue, TimeProvider time)
    {
        _start = start;
        _queue = queue;
        _time = time;
    }

    public CompletionBuffer? Buffer { get; private set; }

    /// <summary>The response's transform: the one registered, or several composed in registration order.</summary>
    public IBodyTransform? Transform { get; private set; }

    public void Add(ResponseHook hook, long bufferCap)
    {
        if (hook.WantsBody)
        {
            Buffer ??= new CompletionBuffer(bufferCap);
        }
        if (hook.Completion is not null)
        {
            _callbacks.Add(hook.Completion);
        }
        if (hook.Transform is { } transform)
        {
            // Transforms compose: each one sees what the ones registered before it wrote.
            if (Transform is null)
            {
                Transform = transform;
            }
            else
            {
                (_transforms ??= [Transform]).Add(transform);
                Transform = new TransformChain([.. _transforms]);
            }
        }
    }

    /// <summary>The response ended: hand it to the completion worker (or release it at once when there is nothing to run).</summary>
    public void Complete(CompletionEnd end, long bytesOut)
    {
        if (_callbacks.Count == 0)
        {
            Buffer?.Dispose();
            return;
        }
        long now = _time.GetTimestamp();
        var firstByte = _start.Exchange.FirstByteTimestamp;
        var response = new CompletedResponse(
            _start, end, Buffer?.Written ?? default, Buffer?.Truncated ?? false, Buffer?.TotalBytes ?? bytesOut,
            firstByte == 0 ? TimeSpan.Zero : _time.GetElapsedTime(_start.StartedTimestamp, firstByte),
            _time.GetElapsedTime(_start.StartedTimestamp, now));
        _queue.Enqueue(new PendingCompletion(response, _callbacks, Buffer));
    }
}
