namespace Gateway.Core.ResponseHooks;

/// <summary>
/// The core extension point after forwarding: consulted once per committed response, before its headers are sent.
/// It may change the response headers (<see cref="ResponseStart.SetHeader"/>), and returns what it wants from the
/// rest of the response: nothing (<c>default</c>), the body (teed into a pooled completion buffer), a callback run
/// after the response ended, and/or a body transform for this one response.
/// </summary>
/// <remarks>
/// Callbacks run off the request path, on the completion worker, in registration order; a response with no
/// interested middleware keeps the plain zero-copy loop and allocates nothing for this layer.
/// </remarks>
internal interface IResponseHook
{
    ResponseHook OnResponse(ResponseStart response);
}

/// <summary>Runs after the response ended (completed, failed or abandoned by the client), on the completion worker.</summary>
internal delegate ValueTask OnCompletion(CompletedResponse response);

/// <param name="WantsBody">Tee the body into the completion buffer (capped by completion_buffer_max_bytes).</param>
/// <param name="Completion">Called once the response ended.</param>
/// <param name="Transform">Takes this response off the zero-copy path: its body passes through the transform. Several
/// middleware's transforms on one response compose, in registration order.</param>
internal readonly record struct ResponseHook(bool WantsBody = false, OnCompletion? Completion = null, IBodyTransform? Transform = null);

/// <summary>
/// Rewrites one response body. Event streams are handed whole events (never raw chunks), so a pattern split
/// across network reads is still seen whole; any other body is handed whole once it has arrived.
/// </summary>
internal interface IBodyTransform
{
    /// <summary>
    /// One event's data payload (JSON, or <c>[DONE]</c>); writes the complete events to send in its place
    /// (<c>data: ...\n\n</c>; nothing drops the event).
    /// </summary>
    void TransformEvent(ReadOnlySpan<byte> data, System.Buffers.IBufferWriter<byte> output);

    /// <summary>Before the stream ends: events to add (text held back so far), as complete "data: ...\n\n" events.</summary>
    void Finish(System.Buffers.IBufferWriter<byte> output);

    /// <summary>A whole non-stream body (JSON); writes its replacement.</summary>
    void TransformBody(ReadOnlySpan<byte> body, System.Buffers.IBufferWriter<byte> output);
}
