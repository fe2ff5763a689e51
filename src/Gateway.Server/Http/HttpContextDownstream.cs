using System.IO.Pipelines;
using System.Net.Http.Headers;
using Gateway.Core.Proxy;

namespace Gateway.Server.Http;

/// <summary>Core's view of the client, over Kestrel's <see cref="HttpContext"/>.</summary>
internal sealed class HttpContextDownstream : IDownstream
{
    private readonly HttpContext _context;

    public HttpContextDownstream(HttpContext context) => _context = context;

    public PipeReader RequestBody => _context.Request.BodyReader;

    public long? RequestContentLength => _context.Request.ContentLength;

    public bool HasStarted => _context.Response.HasStarted;

    public PipeWriter ResponseBody => _context.Response.BodyWriter;

    public string? RequestHeader(string name) =>
        _context.Request.Headers.TryGetValue(name, out var values) ? values.ToString() : null;

    public void SetStatus(int statusCode) => _context.Response.StatusCode = statusCode;

    public void SetHeader(string name, string value) => _context.Response.Headers[name] = value;

    public void SetHeader(string name, HeaderStringValues values) =>
        _context.Response.Headers[name] = values.Count == 1 ? values.ToString() : values.ToArray();

    public void SetContentLength(long length) => _context.Response.ContentLength = length;

    /// <summary>Set when the response must end abnormally once Core returns; <see cref="AbnormalEnd"/> carries it out.</summary>
    public bool EndAbnormally { get; private set; }

    // Core flushes an in-band error event before it calls this; ending the response right here would let the
    // transport drop that event (HTTP/1.1 abort) or the client discard it (HTTP/2 reset). The handler ends it later.
    public void Abort() => EndAbnormally = true;
}
