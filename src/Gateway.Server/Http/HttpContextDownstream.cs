using System.IO.Pipelines;
using System.Net.Http.Headers;
using Gateway.Core.Proxy;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Server.Http;

/// <summary>Core's view of the client, over Kestrel's <see cref="HttpContext"/>.</summary>
internal sealed class HttpContextDownstream : IDownstream
{
    private readonly HttpContext _context;

    public HttpContextDownstream(HttpContext context, string path, string requestId)
    {
        _context = context;
        Path = path;
        RequestId = requestId;
        var query = context.Request.QueryString.Value;
        Query = string.IsNullOrEmpty(query) ? "" : query[1..];
    }

    public PipeReader RequestBody => _context.Request.BodyReader;

    public long? RequestContentLength => _context.Request.ContentLength;

    public string Path { get; }

    public string Query { get; }

    public string RequestId { get; }

    public bool HasStarted => _context.Response.HasStarted;

    public PipeWriter ResponseBody => _context.Response.BodyWriter;

    public string? RequestHeader(string name) =>
        _context.Request.Headers.TryGetValue(name, out var values) ? values.ToString() : null;

    public void SetStatus(int statusCode) => _context.Response.StatusCode = statusCode;

    public void SetHeader(string name, string value) => _context.Response.Headers[name] = value;

    public void SetHeader(string name, HeaderStringValues values) =>
        _context.Response.Headers[name] = values.Count == 1 ? values.ToString() : values.ToArray();

    public void SetContentLength(long length) => _context.Response.ContentLength = length;

    /// <summary>Set when an HTTP/1.1 response must end abnormally once the handler returns (see <see cref="Abort"/>).</summary>
    public bool EndAbnormally { get; private set; }

    public void Abort()
    {
        if (_context.Features.Get<IHttpResetFeature>() is { } reset)
        {
            // HTTP/2 and HTTP/3: reset the stream (INTERNAL_ERROR); frames already written arrive before the reset.
            reset.Reset(2);
        }
        else
        {
            // HTTP/1.1: HttpContext.Abort() would drop what is still queued for the socket (the in-band error
            // event included). The handler instead fails the request after everything was flushed, and Kestrel
            // then closes the connection without the terminating chunk.
            EndAbnormally = true;
        }
    }
}
