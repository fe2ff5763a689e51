using Gateway.Core.Ingress.Anthropic;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Handlers;

/// <summary>
/// POST /v1/messages (Anthropic's Messages API, with or without ?beta=true) for Anthropic SDK and Claude Code clients:
/// the request is translated once into the OpenAI pivot, forwarded by the same engine as /v1/chat/completions (keys,
/// limits, strategies, any provider type), and the answer leaves in Anthropic's format through
/// <see cref="MessagesDownstream"/>. An Anthropic provider gets the client's own body instead and its answer goes
/// back as it sent it (<see cref="NativeRequest"/>). Errors, the gateway's own included, are in Anthropic's shape (see
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
        var (original, openAi, facts, error) = await ReadAsync(context, request, countOnly: false);
        if (openAi is null)
        {
            await OpenAiErrorWriter.WriteAsync(context, error);
            return;
        }
        // Held to the end: an attempt on an Anthropic provider sends it as it came (see NativeRequest).
        using var body = original!;
        var native = new NativeRequest("anthropic", body.Data, Beta(context.Request.Headers["anthropic-beta"].ToString()));
        var inner = new HttpContextDownstream(context);
        using var client = new MessagesDownstream(inner, openAi, facts!, native, context.TraceIdentifier);
        var proxied = new ProxyRequest("chat/completions", "", context.TraceIdentifier, request.Caller, request.Exchange, Api: "anthropic", native);
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

    /// <summary>
    /// Exact from Anthropic when the model is an Anthropic provider's ("provider/model", or an alias naming one): the
    /// request goes to its {base_url}/messages/count_tokens with the model rewritten. Otherwise an estimate (about four
    /// characters a token of the translated request): no other provider counts Anthropic's way.
    /// </summary>
    public static async Task CountTokensAsync(HttpContext context)
    {
        var request = GatewayRequest.Of(context);
        var (original, openAi, facts, error) = await ReadAsync(context, request, countOnly: true);
        if (openAi is null)
        {
            await OpenAiErrorWriter.WriteAsync(context, error);
            return;
        }
        using var body = original!;
        using var pivot = openAi;
        context.Response.Headers["request-id"] = context.TraceIdentifier;
        if (AnthropicTarget(request, facts!.Model) is { } target)
        {
            await ForwardCountAsync(context, target.Provider, target.Model, System.Buffers.BuffersExtensions.ToArray(body.Data));
            return;
        }
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($$"""{"input_tokens":{{Math.Max(1, openAi.WrittenCount / 4)}}}""");
    }

    /// <summary>The Anthropic provider and upstream model a model name routes to directly (or through an alias), if any.</summary>
    private static (Gateway.Core.Providers.ProviderEndpoint Provider, string Model)? AnthropicTarget(GatewayRequest request, string model)
    {
        var routes = request.Snapshot.Routes;
        if (!model.Contains('/', StringComparison.Ordinal) && routes.TryGetAlias(model, out var alias, out _))
        {
            model = alias;
        }
        int slash = model.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !routes.TryGetProvider(model.AsSpan(0, slash), out var provider) || provider.Type is not Gateway.Core.Providers.Anthropic.AnthropicType
            || (request.Caller is { } caller && !caller.MayUse(model)))
        {
            return null;
        }
        return (provider, model[(slash + 1)..]);
    }

    private static async Task ForwardCountAsync(HttpContext context, Gateway.Core.Providers.ProviderEndpoint provider, string model, byte[] original)
    {
        var rewritten = new System.Buffers.ArrayBufferWriter<byte>(original.Length + 64);
        Gateway.Core.Providers.Translation.JsonFilter.Copy(original, rewritten, [], System.Text.Encoding.UTF8.GetBytes(model));
        using var upstream = new HttpRequestMessage(HttpMethod.Post, provider.RedactedBaseUrl + "/messages/count_tokens")
        {
            Content = new ByteArrayContent(rewritten.WrittenSpan.ToArray()),
        };
        upstream.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        provider.Type.Authenticate(upstream.Headers, provider);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(provider.Config.Timeout);
            using var response = await provider.Invoker.SendAsync(upstream, timeout.Token);
            var answer = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (response.IsSuccessStatusCode)
            {
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(answer, context.RequestAborted);
                return;
            }
            var info = provider.Type.ClassifyError(response, provider.Scrubber is { } scrubber ? Scrubbed(scrubber, answer) : answer, TimeProvider.System);
            await OpenAiErrorWriter.WriteAsync(context, info?.Error ?? GatewayError.UpstreamBadResponse, $"Provider '{provider.Name}': {info?.Message ?? "the count failed."}");
        }
        catch (Exception) when (!context.RequestAborted.IsCancellationRequested)
        {
            await OpenAiErrorWriter.WriteAsync(context, GatewayError.UpstreamUnreachable, $"Provider '{provider.Name}' could not count the tokens.");
        }
    }

    private static byte[] Scrubbed(SecretScrubber scrubber, byte[] body)
    {
        int length = scrubber.Scrub(body);
        return body[..length];
    }

    /// <summary>The client's anthropic-beta flags, when they are plain tokens (names, digits, '-', '_', ',', spaces): nothing else is forwarded.</summary>
    private static string? Beta(string value)
    {
        if (value.Length is 0 or > 1024)
        {
            return null;
        }
        foreach (char c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or ',' or ' ' or '.'))
            {
                return null;
            }
        }
        return value;
    }

    /// <summary>The client's body (held: the caller disposes it), bounded like every request, and it as the OpenAI pivot; or the error to answer.</summary>
    private static async Task<(RequestBody? Original, PooledBufferWriter? Body, MessagesFacts? Facts, ProxyOutcome Error)> ReadAsync(
        HttpContext context, GatewayRequest request, bool countOnly)
    {
        var limit = request.Snapshot.MaxRequestBodyBytes;
        var (readError, body) = await RequestBodyReader.ReadAsync(context.Request.BodyReader, context.Request.ContentLength, limit, context.RequestAborted);
        if (body is null)
        {
            return (null, null, null, ProxyOutcome.Fail(readError, readError == GatewayError.RequestTooLarge
                ? $"The request body exceeds the limit of {limit} bytes."
                : "The request body could not be read completely."));
        }
        var (openAi, facts, refusal) = MessagesRequest.Build(body.Data, countOnly);
        if (refusal is null)
        {
            return (body, openAi, facts, default);
        }
        body.Dispose();
        return (null, null, null, ProxyOutcome.Fail(refusal.Error, refusal.Message) with { Param = refusal.Param });
    }
}
