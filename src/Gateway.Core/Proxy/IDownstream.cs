using System.IO.Pipelines;
using System.Net.Http.Headers;

namespace Gateway.Core.Proxy;

/// <summary>
/// The transport's side of the exchange, and nothing else: the request body and headers, and a response Core can
/// start, write and abort. What the request is (path, id, caller, its record) travels separately, in
/// <see cref="ProxyRequest"/>. The transport implements this over its HTTP server; the engine's unit tests over a
/// <see cref="Pipe"/>.
/// </summary>
internal interface IDownstream
{
    PipeReader RequestBody { get; }

    long? RequestContentLength { get; }

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
