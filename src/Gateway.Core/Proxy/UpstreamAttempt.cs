using System.Buffers;
using System.IO.Pipelines;
using Gateway.Core.Config;
using Gateway.Core.Providers;
using Gateway.Core.Resilience;
using Gateway.Core.Routing;

namespace Gateway.Core.Proxy;

internal enum AttemptState
{
    /// <summary>An answer to give the client: a success with its first content, or a status that is not for fallback_on.</summary>
    Committable,

    /// <summary>A failure before the commit point (see <see cref="AttemptResult.Failure"/>).</summary>
    Failed,

    ClientGone,
}

/// <summary>What one attempt came to, as a value: committable, client gone, or failed — with why (for the chain policy) and a short reason safe for clients and logs.</summary>
internal readonly record struct AttemptResult(AttemptState State, AttemptFailure Failure, GatewayError Error, string Reason)
{
    public static AttemptResult Committable => new(AttemptState.Committable, default, GatewayError.None, "");

    public static AttemptResult ClientGone => new(AttemptState.ClientGone, default, GatewayError.ClientClosedRequest, "client gone");
}

/// <summary>
/// One exchange with one target, up to the commit point: send, wait for the headers, then for the first content
/// (the first data event of a stream, the first bytes of any other body). Bytes read before the commit point are
/// kept in <see cref="Prefix"/> and go to the client first if this attempt is committed; nothing is sent before.
/// </summary>
internal sealed class UpstreamAttempt : IDisposable
{
    // Enough for any first event; a provider that sends more without one is streaming content anyway.
    private const int MaxPrefixBytes = 64 * 1024;
    private const int FirstReadBytes = 4096;

    private readonly CancellationTokenRegistration _abortRegistration;
    private byte[]? _prefix;

    public UpstreamAttempt(RouteTarget target, Admission admission, TimeProvider time, CancellationToken clientAborted)
    {
        Target = target;
        Admission = admission;
        Cancellation = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _abortRegistration = clientAborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), Cancellation);
    }

    public RouteTarget Target { get; }

    /// <summary>This attempt's span (a child of the request's) when the request is traced and sampled.</summary>
    public System.Diagnostics.Activity? Activity { get; private set; }

    /// <summary>The span whose context goes to the provider as traceparent: this attempt's, else the request's (if any).</summary>
    public System.Diagnostics.Activity? TraceContext => Activity ?? Diagnostics.GatewayTracing.CurrentRequest;

    public void StartActivity(string path, int attempt)
    {
        if (Diagnostics.GatewayTracing.Source.HasListeners())
        {
            Activity = Diagnostics.GatewayTracing.StartAttempt(path, Target.Provider.Name, Target.Model.Span, Target.Provider.Config.BaseUrl.Host, attempt);
        }
    }

    /// <summary>The attempt's outcome as a metric label: ok, connect, timeout, rate_limited, server_error, listed_error, client_gone.</summary>
    public string Outcome(in AttemptResult result) => result.State switch
    {
        AttemptState.ClientGone => "client_gone",
        AttemptState.Committable => Status >= 500 ? "server_error" : "ok",
        _ => result.Failure.Class switch
        {
            FailureClasses.Connect => "connect",
            FailureClasses.Timeout => "timeout",
            FailureClasses.RateLimited => "rate_limited",
            FailureClasses.ServerError => "server_error",
            _ => "listed_error",
        },
    };

    public Admission Admission { get; }

    /// <summary>Cancels everything upstream for this attempt: the client's abort, our timeouts, the idle watchdog.</summary>
    public CancellationTokenSource Cancellation { get; }

    public HttpResponseMessage? Response { get; private set; }

    public Stream? Body { get; private set; }

    public int Status { get; private set; }

    public bool IsEventStream { get; private set; }

    /// <summary>The provider answered with an error status (4xx/5xx) whose response is kept: it can be the client's answer.</summary>
    public bool HasErrorAnswer => Response is not null && Status >= 400;

    public ReadOnlySpan<byte> Prefix => _prefix.AsSpan(0, PrefixLength);

    /// <summary>
    /// Writes the bytes read before the commit point to the client (and the tee), unflushed, and gives their pooled
    /// buffer back at once: a stream that then idles for minutes holds none. Returns how many bytes were written.
    /// </summary>
    public int WritePrefix(PipeWriter client, IBodyTee? tee)
    {
        int length = PrefixLength;
        if (_prefix is null)
        {
            return 0;
        }
        client.Write(Prefix);
        tee?.Append(Prefix);
        ArrayPool<byte>.Shared.Return(_prefix);
        _prefix = null;
        PrefixLength = 0;
        return length;
    }

    public int PrefixLength { get; private set; }

    /// <summary>The provider's body is read through its type's translation (its length is not the provider's).</summary>
    public bool BodyTranslated { get; private set; }

    /// <summary>The translated request when the provider type translates (its response is translated too); null for passthrough.</summary>
    public Providers.Translation.TranslatedRequest? Translation { get; private set; }

    /// <param name="headerTimeout">Until the response headers (the provider's timeout, clipped by the chain's deadline).</param>
    /// <param name="firstTokenTimeout">From the headers until the first content.</param>
    /// <param name="streamRequested">The request asked for a stream: an answer that is not an event stream is not one.</param>
    public async ValueTask<AttemptResult> RunAsync(
        HttpRequestMessage request, TimeSpan headerTimeout, TimeSpan firstTokenTimeout, FallbackPolicy policy, bool streamRequested,
        TimeProvider time, CancellationToken clientAborted)
    {
        var provider = Target.Provider;
        var token = Cancellation.Token;
        Translation = request.Content as Providers.Translation.TranslatedRequest;
        Cancellation.CancelAfter(headerTimeout);
        try
        {
            Response = await provider.Invoker.SendAsync(request, token);
        }
        catch (Exception e)
        {
            if (clientAborted.IsCancellationRequested)
            {
                return AttemptResult.ClientGone;
            }
            var (error, failure, reason) = UpstreamFailures.OfSend(e, headerTimeout);
            return Fail(policy, failure, error, reason, retryable: failure == FailureClasses.Connect);
        }

        Status = (int)Response.StatusCode;
        if (Status is >= 200 and < 300)
        {
            Cancellation.CancelAfter(firstTokenTimeout);
            IsEventStream = HeaderPolicy.IsEventStream(Response);
            if (streamRequested && !IsEventStream)
            {
                return Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, "answered a streaming request without an event stream", retryable: false);
            }
            return await ReadFirstContentAsync(policy, firstTokenTimeout, clientAborted);
        }
        if (Status >= 400 && provider.Type.TranslatesErrors)
        {
            return await ClassifyTranslatedErrorAsync(policy, headerTimeout, time, clientAborted);
        }
        if (Status is >= 300 and < 400)
        {
            // Never followed, never passed on: a redirect would take the provider key or the client elsewhere.
            DisposeResponse();
            return Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, $"answered with a redirect ({Status})", retryable: false);
        }
        if (Status == 429)
        {
            var retryAfter = Resilience.RetryAfter.From(Response, time);
            return Fail(policy, FailureClasses.RateLimited, GatewayError.UpstreamRateLimited, "answered 429 (rate limited)", retryable: retryAfter is null, retryAfter: retryAfter);
        }
        if (Status >= 500)
        {
            return Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, $"answered {Status}", retryable: true);
        }
        if (policy.AllowsStatus(Status))
        {
            return Fail(policy, FailureClasses.None, GatewayError.UpstreamBadResponse, $"answered {Status}", retryable: false, listed: true);
        }
        if (policy.ErrorCodes.Count > 0)
        {
            return await MatchErrorCodeAsync(policy, clientAborted);
        }
        return AttemptResult.Committable;
    }

    private async ValueTask<AttemptResult> ReadFirstContentAsync(FallbackPolicy policy, TimeSpan firstTokenTimeout, CancellationToken clientAborted)
    {
        var token = Cancellation.Token;
        try
        {
            var raw = await Response!.Content.ReadAsStreamAsync(token);
            Body = Target.Provider.Type.ResponseBody(raw, IsEventStream, Target, Translation);
            BodyTranslated = !ReferenceEquals(Body, raw);
            if (!IsEventStream)
            {
                if (await ReadIntoPrefixAsync(token) == 0)
                {
                    if (Body is Providers.Translation.TranslatedBody { Refusal: { } refusal })
                    {
                        return Fail(policy, FailureClasses.None, refusal.Error, $"refused the request ({refusal.Message})", retryable: false);
                    }
                    if (Body is Providers.Translation.TranslatedBody { Failure: { } failure })
                    {
                        return Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, failure, retryable: true);
                    }
                    // An OpenAI-style API always answers a success with a body: an empty one is a broken answer, not an empty success.
                    return Response.Content.Headers.ContentLength == 0
                        ? Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, $"answered {Status} with an empty body", retryable: true)
                        : Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, "closed the connection before sending a body", retryable: true);
                }
                Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
                return AttemptResult.Committable;
            }
            while (true)
            {
                if (PrefixLength == MaxPrefixBytes)
                {
                    break;
                }
                if (await ReadIntoPrefixAsync(token) == 0)
                {
                    return Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, "ended the stream before its first event", retryable: true);
                }
                var first = FirstEvent.Inspect(Prefix);
                if (first == FirstEventKind.Error && Body is Providers.Translation.TranslatingStream { Refusal: { } refusal })
                {
                    return Fail(policy, FailureClasses.None, refusal.Error, $"refused the request ({refusal.Message})", retryable: false);
                }
                if (first == FirstEventKind.Error)
                {
                    return Fail(policy, FailureClasses.ServerError, GatewayError.UpstreamBadResponse, "sent an error as its first event", retryable: true);
                }
                if (first == FirstEventKind.Content)
                {
                    break;
                }
            }
            Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
            return AttemptResult.Committable;
        }
        catch (Exception e)
        {
            if (clientAborted.IsCancellationRequested)
            {
                return AttemptResult.ClientGone;
            }
            return e is OperationCanceledException
                ? Fail(policy, FailureClasses.Timeout, GatewayError.UpstreamTimeout, $"sent no first token within {Durations.Format(firstTokenTimeout)}", retryable: false)
                : Fail(policy, FailureClasses.Connect, GatewayError.UpstreamBadResponse, "broke the connection before the first token", retryable: true);
        }
    }

    /// <summary>
    /// A translating type's error answer: read whole (and masked), then classified by the type on status and body —
    /// an outage, a rate limit with its delay, a refused key, or the client's own error (which may be listed in fallback_on).
    /// </summary>
    private async ValueTask<AttemptResult> ClassifyTranslatedErrorAsync(FallbackPolicy policy, TimeSpan timeout, TimeProvider time, CancellationToken clientAborted)
    {
        if (await BufferErrorAnswerAsync(timeout, clientAborted) is { } unreadable)
        {
            return unreadable.Error == GatewayError.ClientClosedRequest
                ? AttemptResult.ClientGone
                : Fail(policy, FailureClasses.ServerError, unreadable.Error, unreadable.Reason, retryable: true);
        }
        var info = ClassifyError(time);
        if (info.Class != FailureClasses.None)
        {
            return Fail(policy, info.Class, info.Error, info.Reason, info.Retryable, retryAfter: info.RetryAfter);
        }
        if (info.Code is not null && policy.AllowsCode(info.Code))
        {
            return Fail(policy, FailureClasses.None, info.Error, info.Reason, retryable: false, listed: true);
        }
        return AttemptResult.Committable;
    }

    /// <summary>The buffered error answer of a translating type, classified by the type.</summary>
    public UpstreamErrorInfo ClassifyError(TimeProvider time) =>
        Target.Provider.Type.ClassifyError(Response!, Prefix, time)
        ?? new UpstreamErrorInfo(GatewayError.UpstreamBadResponse, FailureClasses.ServerError, false, null, null, $"answered {Status}", $"answered {Status}");

    /// <summary>A 4xx whose error code is listed in fallback_on (e.g. context_length_exceeded) moves on; others are the answer.</summary>
    private async ValueTask<AttemptResult> MatchErrorCodeAsync(FallbackPolicy policy, CancellationToken clientAborted)
    {
        try
        {
            Body = await Response!.Content.ReadAsStreamAsync(Cancellation.Token);
            while (PrefixLength < MaxPrefixBytes && await ReadIntoPrefixAsync(Cancellation.Token) > 0)
            {
            }
        }
        catch (Exception) when (!clientAborted.IsCancellationRequested)
        {
            // An unreadable error body matches no code; what was read is still passed on.
        }
        catch (Exception)
        {
            return AttemptResult.ClientGone;
        }
        var code = UpstreamFailures.ErrorCode(Prefix);
        if (code is not null && policy.AllowsCode(code))
        {
            return Fail(policy, FailureClasses.None, GatewayError.UpstreamBadResponse, $"answered {Status} ({code})", retryable: false, listed: true);
        }
        return AttemptResult.Committable;
    }

    // Error bodies are a few hundred bytes; one this large is not an answer anyone can use.
    private const int MaxErrorBodyBytes = 1024 * 1024;

    /// <summary>
    /// Reads a whole error answer (4xx/5xx) into <see cref="Prefix"/> and masks the provider's credentials in it
    /// (providers echo keys in error bodies), before anything is sent: the client, the logs and the completion log
    /// only ever see the masked bytes. The body stream is then at its end.
    /// </summary>
    /// <returns>Null when the whole body is buffered; else the failure: too large, cut, silent or the client left.</returns>
    public async ValueTask<(GatewayError Error, string Reason)?> BufferErrorAnswerAsync(TimeSpan timeout, CancellationToken clientAborted)
    {
        Cancellation.CancelAfter(timeout);
        try
        {
            Body ??= await Response!.Content.ReadAsStreamAsync(Cancellation.Token);
            while (await ReadIntoPrefixAsync(MaxErrorBodyBytes + 1, Cancellation.Token) > 0)
            {
                if (PrefixLength > MaxErrorBodyBytes)
                {
                    return (GatewayError.UpstreamBadResponse, $"answered {Status} with an error body over {MaxErrorBodyBytes / 1024} KiB");
                }
            }
        }
        catch (Exception e)
        {
            return clientAborted.IsCancellationRequested
                ? (GatewayError.ClientClosedRequest, "client gone")
                : e is OperationCanceledException
                    ? (GatewayError.UpstreamTimeout, $"did not send its {Status} error body within {Durations.Format(timeout)}")
                    : (GatewayError.UpstreamBadResponse, $"broke the connection while sending its {Status} error body");
        }
        Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
        if (Target.Provider.Scrubber is { } scrubber && _prefix is not null)
        {
            PrefixLength = scrubber.Scrub(_prefix.AsSpan(0, PrefixLength));
        }
        return null;
    }

    private ValueTask<int> ReadIntoPrefixAsync(CancellationToken token) => ReadIntoPrefixAsync(MaxPrefixBytes, token);

    private async ValueTask<int> ReadIntoPrefixAsync(int maxBytes, CancellationToken token)
    {
        if (_prefix is null)
        {
            _prefix = ArrayPool<byte>.Shared.Rent(FirstReadBytes);
        }
        else if (PrefixLength == _prefix.Length && _prefix.Length < maxBytes)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_prefix.Length * 2, maxBytes));
            _prefix.AsSpan(0, PrefixLength).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_prefix);
            _prefix = larger;
        }
        int read = await Body!.ReadAsync(_prefix.AsMemory(PrefixLength, Math.Min(_prefix.Length, maxBytes) - PrefixLength), token);
        PrefixLength += read;
        return read;
    }

    private AttemptResult Fail(
        FallbackPolicy policy, FailureClasses failure, GatewayError error, string reason, bool retryable, bool listed = false, TimeSpan? retryAfter = null)
    {
        Activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, reason);
        return new AttemptResult(
            AttemptState.Failed, new AttemptFailure(failure, listed || policy.Allows(failure), retryable, retryAfter, HasErrorAnswer), error, reason);
    }

    private void DisposeResponse()
    {
        Response?.Dispose();
        Response = null;
    }

    public void Dispose()
    {
        if (Activity is { } activity)
        {
            activity.SetTag("http.response.status_code", Status);
            activity.Dispose();
        }
        _abortRegistration.Dispose();
        Body?.Dispose();
        Response?.Dispose();
        Cancellation.Dispose();
        if (_prefix is not null)
        {
            ArrayPool<byte>.Shared.Return(_prefix);
            _prefix = null;
        }
    }
}
