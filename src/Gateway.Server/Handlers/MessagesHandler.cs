using Gateway.Core.Ingress.Anthropic;
using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Handlers;

/// <summary>
/// POST /v1/messages (Anthropic's Messages API, with or without ?beta=true) for Anthropic SDK and Claude Code clients:
/// the request is translated once into the OpenAI pivot, forwarded by the same engine as /v1/chat/completions (keys,
/// limits, strategies, any provider type), and the answer leaves in Anthropic's format through
/// <see cref="MessagesDownstream"/>. Errors, the gateway's own included, are in Anthropic's shape (see
/// <see cref="OpenAiErrorWriter"/>). POST /v1/messages/count_tokens gives an estimate.
/// </summary>
internal sealed class MessagesHandler
{
    private readonly ProxyEngine _engine;
    private readonly TimeProvider _time;

    public MessagesHandler(ProxyEngine engine, TimeProvider time)
    {
        _engine = engine;
        _time = time;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var request = GatewayRequest.Of(context);
        var (openAi, facts, error) = await ReadAsync(context, request);
        if (openAi is null)
        {
            await OpenAiErrorWriter.WriteAsync(context, error);
            return;
        }
        var inner = new HttpContextDownstream(context);
        using var client = new MessagesDownstream(inner, openAi, facts!, context.TraceIdentifier);
        var proxied = new ProxyRequest("chat/completions", "", context.TraceIdentifier, request.Caller, request.Exchange, Api: "anthropic");
        var outcome = await _engine.ForwardAsync(request.Snapshot, proxied, client, context.RequestAborted);
        request.Outcome = outcome.Error;
        if (inner.EndAbnormally)
        {
            await AbnormalEnd.CompleteAsync(context, _time);
            return;
        }
        if (outcome.Error == GatewayError.None)
        {
            await client.CompleteAsync();
        }
        else if (outcome.Error is not (GatewayError.ClientClosedRequest or GatewayError.StreamInterrupted))
        {
            await OpenAiErrorWriter.WriteAsync(context, outcome);
        }
    }

    /// <summary>An estimate (about four characters a token over the text the request carries): no provider counts for every type.</summary>
    public static async Task CountTokensAsync(HttpContext context)
    {
        var request = GatewayRequest.Of(context);
        var (openAi, _, error) = await ReadAsync(context, request);
        if (openAi is null)
        {
            await OpenAiErrorWriter.WriteAsync(context, error);
            return;
        }
        context.Response.ContentType = "application/json";
        context.Response.Headers["request-id"] = context.TraceIdentifier;
        await context.Response.WriteAsync($$"""{"input_tokens":{{Math.Max(1, openAi.Length / 4)}}}""");
    }

    /// <summary>The client's body, bounded like every request, as the OpenAI pivot; or the error to answer.</summary>
    private static async Task<(byte[]? Body, MessagesFacts? Facts, ProxyOutcome Error)> ReadAsync(HttpContext context, GatewayRequest request)
    {
        var limit = request.Snapshot.MaxRequestBodyBytes;
        var (readError, body) = await RequestBodyReader.ReadAsync(context.Request.BodyReader, context.Request.ContentLength, limit, context.RequestAborted);
        if (body is null)
        {
            return (null, null, ProxyOutcome.Fail(readError, readError == GatewayError.RequestTooLarge
                ? $"The request body exceeds the limit of {limit} bytes."
                : "The request body could not be read completely."));
        }
        using (body)
        {
            var (openAi, facts, refusal) = MessagesRequest.Build(body.Data);
            return refusal is null
                ? (openAi, facts, default)
                : (null, null, ProxyOutcome.Fail(refusal.Error, refusal.Message) with { Param = refusal.Param });
        }
    }
}
