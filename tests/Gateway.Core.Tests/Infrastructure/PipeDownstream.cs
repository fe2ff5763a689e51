using System.Buffers;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Core.Proxy;

namespace Gateway.Core.Tests.Infrastructure;

/// <summary>The transport seen by Core, over two in-memory pipes: the request body written whole, the response read back.</summary>
internal sealed class PipeDownstream : IDownstream
{
    private readonly Pipe _request = new();
    private readonly Pipe _response = new(new PipeOptions(pauseWriterThreshold: 0));
    private readonly Dictionary<string, string> _requestHeaders;

    public PipeDownstream(string path, string body, Dictionary<string, string>? headers = null)
    {
        Request = new ProxyRequest(path, "", "req-test", null, new ExchangeInfo());
        var bytes = Encoding.UTF8.GetBytes(body);
        RequestContentLength = bytes.Length;
        _request.Writer.Write(bytes);
        _request.Writer.Complete();
        _requestHeaders = headers ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    }

    public PipeReader RequestBody => _request.Reader;

    public long? RequestContentLength { get; }

    /// <summary>What the request is, passed to the engine beside this transport.</summary>
    public ProxyRequest Request { get; }

    public ExchangeInfo Exchange => Request.Exchange;

    public bool HasStarted { get; private set; }

    public int Status { get; private set; }

    public long? ContentLength { get; private set; }

    public bool Aborted { get; private set; }

    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public PipeWriter ResponseBody => _response.Writer;

    public string? RequestHeader(string name) => _requestHeaders.TryGetValue(name, out var value) ? value : null;

    public void SetStatus(int statusCode) => Status = statusCode;

    public void SetHeader(string name, string value) => Headers[name] = value;

    public void SetHeader(string name, HeaderStringValues values) => Headers[name] = values.ToString();

    public void SetContentLength(long length) => ContentLength = length;

    public void Abort() => Aborted = true;

    /// <summary>Everything written to the response (call once the engine has returned).</summary>
    public async Task<string> ResponseTextAsync()
    {
        await _response.Writer.CompleteAsync();
        var result = await _response.Reader.ReadAtLeastAsync(int.MaxValue);
        var text = Encoding.UTF8.GetString(result.Buffer);
        _response.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }
}
