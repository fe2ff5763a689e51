using System.IO.Pipelines;
using System.Net.Http.Headers;

namespace Gateway.Core.Proxy;

/// <summary>
/// What Core needs from the client's side of the exchange: the request body and a few headers, and a response it
/// can start, write and abort. The transport implements it over its HTTP server; tests over a <see cref="Pipe"/>.
/// </summary>
public interface IDownstream
{
    PipeReader RequestBody { get; }

    long? RequestContentLength { get; }

    /// <summary>The path below /v1/ ("chat/completions").</summary>
    string Path { get; }

    /// <summary>The query string without '?', or empty.</summary>
    string Query { get; }

    string RequestId { get; }

    /// <summary>The gateway key that authenticated this request; null on an open gateway.</summary>
    Access.ClientKey? Caller { get; }

    /// <summary>What this request did (model, target, attempts, bytes, timings), for the request log and completion records.</summary>
    ExchangeInfo Exchange { get; }

    /// <summary>A request header, or null when absent (several values joined by commas).</summary>
    string? RequestHeader(string name);

    /// <summary>True once the response status and headers have been sent: from then on an error can only abort.</summary>
    bool HasStarted { get; }

    void SetStatus(int statusCode);

    void SetHeader(string name, string value);

    void SetHeader(string name, HeaderStringValues values);

    void SetContentLength(long length);

    /// <summary>The response body. Flushing it sends what was written; a completed flush result means the client is gone.</summary>
    PipeWriter ResponseBody { get; }

    /// <summary>Ends the response abnormally (HTTP/1.1: connection closed without the final chunk; HTTP/2: stream reset).</summary>
    void Abort();
}
