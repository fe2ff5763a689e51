namespace Gateway.Core.ResponseHooks;

internal enum CompletionEnd
{
    /// <summary>The whole answer reached the client.</summary>
    Completed,

    /// <summary>The provider's body broke or stalled; the client got an interruption error and an abnormal end.</summary>
    UpstreamFailed,

    /// <summary>The client went away before the end.</summary>
    ClientAborted,
}

/// <summary>
/// Tokens as the provider reported them. OpenAI's meaning: <see cref="PromptTokens"/> includes
/// <see cref="CachedTokens"/>, <see cref="CompletionTokens"/> includes <see cref="ReasoningTokens"/>. Usage billed
/// Anthropic's way also has its cache reads and writes (both inside the prompt count); <see cref="CacheReadTokens"/>
/// is -1 when the answer did not report that breakdown.
/// </summary>
internal readonly record struct TokenUsage(
    long PromptTokens, long CompletionTokens, long TotalTokens, long CachedTokens = 0, long ReasoningTokens = 0, long CacheReadTokens = -1,
    long CacheWriteTokens = 0);

/// <summary>A response after its end, handed to <see cref="OnCompletion"/> callbacks on the completion worker.</summary>
internal sealed class CompletedResponse
{
    private bool _parsed;
    private TokenUsage? _usage;
    private string? _finishReason;
    private string? _text;
    private bool _textParsed;

    internal CompletedResponse(ResponseStart start, CompletionEnd end, ReadOnlyMemory<byte> body, bool truncated, long totalBytes, TimeSpan timeToFirstByte, TimeSpan duration)
    {
        Start = start;
        End = end;
        Body = body;
        Truncated = truncated;
        TotalBytes = totalBytes;
        TimeToFirstByte = timeToFirstByte;
        Duration = duration;
    }

    public ResponseStart Start { get; }

    public CompletionEnd End { get; }

    /// <summary>The upstream body as received (empty unless a middleware asked for it); valid during the callbacks only.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The body passed completion_buffer_max_bytes: <see cref="Body"/> holds its beginning only.</summary>
    public bool Truncated { get; }

    public long TotalBytes { get; }

    public TimeSpan TimeToFirstByte { get; }

    public TimeSpan Duration { get; }

    /// <summary>Token usage from the JSON body or the stream's usage chunk; null when the provider sent none.</summary>
    public TokenUsage? Usage
    {
        get
        {
            Parse();
            return _usage;
        }
    }

    public string? FinishReason
    {
        get
        {
            Parse();
            return _finishReason;
        }
    }

    /// <summary>The generated text: message content, or the concatenated delta.content of a stream.</summary>
    public string? Text
    {
        get
        {
            if (!_textParsed)
            {
                _textParsed = true;
                _text = (Start.IsEventStream ? UsageParser.FromEvents(Body.Span) : UsageParser.FromJson(Body.Span)).Text;
            }
            return _text;
        }
    }

    private void Parse()
    {
        if (_parsed)
        {
            return;
        }
        _parsed = true;
        (_usage, _finishReason, _) = Start.IsEventStream ? UsageParser.FromEvents(Body.Span, withText: false) : UsageParser.FromJson(Body.Span, withText: false);
    }
}
