using Gateway.Core.Access;
using Gateway.Core.Proxy;

namespace Gateway.Core.ResponseHooks;

/// <summary>A committed response as the response middleware sees it, before its headers go out.</summary>
internal sealed class ResponseStart
{
    private readonly ProxyRequest _request;
    private readonly IDownstream _client;

    internal ResponseStart(
        ProxyRequest request, IDownstream client, int status, bool isEventStream, string servedBy, long startedTimestamp,
        System.Buffers.ReadOnlySequence<byte> requestBody)
    {
        _request = request;
        _client = client;
        Status = status;
        IsEventStream = isEventStream;
        ServedBy = servedBy;
        StartedTimestamp = startedTimestamp;
        RequestBody = requestBody;
    }

    public string RequestId => _request.RequestId;

    /// <summary>The path below /v1/ ("chat/completions").</summary>
    public string Path => _request.Path;

    public ClientKey? Caller => _request.Caller;

    /// <summary>The API the client speaks ("openai", "anthropic"): hooks see OpenAI's format either way.</summary>
    public string Api => _request.Api;

    public ExchangeInfo Exchange => _request.Exchange;

    public string? RequestedModel => _request.Exchange.RequestedModel;

    public string ServedBy { get; }

    public int Status { get; }

    public bool IsEventStream { get; }

    public bool StreamRequested => _request.Exchange.Stream;

    internal long StartedTimestamp { get; }

    /// <summary>The client's request body: valid only during <see cref="IResponseHook.OnResponse"/> (copy what you keep).</summary>
    public System.Buffers.ReadOnlySequence<byte> RequestBody { get; }

    /// <summary>Sets or replaces a response header; the headers have not been sent yet.</summary>
    public void SetHeader(string name, string value) => _client.SetHeader(name, value);
}
