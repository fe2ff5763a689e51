namespace Gateway.Core.Proxy;

/// <summary>
/// What a request is, apart from the transport that carries it: the path below /v1/ and the query, its id, the
/// gateway key that authenticated it, and the record the request log, metrics and response hooks read
/// (<see cref="ExchangeInfo"/>: filled by Core as the request goes, read by the transport when it ends).
/// </summary>
/// <param name="Path">The path below /v1/ ("chat/completions").</param>
/// <param name="Query">The query string without '?', or empty.</param>
/// <param name="Caller">The gateway key that authenticated this request; null on an open gateway.</param>
/// <param name="Api">The API the client speaks: "openai", or "anthropic" for /v1/messages (its request arrives as the OpenAI pivot).</param>
/// <param name="Native">For a client of another API: its request as it sent it, for the providers of that API.</param>
internal sealed record ProxyRequest(
    string Path, string Query, string RequestId, Access.ClientKey? Caller, ExchangeInfo Exchange, string Api = "openai",
    Providers.Translation.NativeRequest? Native = null);
