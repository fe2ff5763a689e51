using System.Diagnostics;
using Gateway.Core.Diagnostics;
using Gateway.Core.Proxy;

namespace Gateway.Core.ResponseHooks;

/// <summary>
/// Reads an answer's token usage as it passes, without buffering it: from the usage chunk of an event stream (a
/// data line that mentions "usage"), or from the last kilobyte of a JSON body (where OpenAI-shaped answers put it).
/// Used for gen_ai.client.token.usage, so metrics never need the completion buffer or the completion worker.
/// </summary>
internal sealed class UsageTap : IBodyTee, ISseDataSink, IDisposable
{
    private const int TailBytes = 1024;
    private readonly byte[]? _tail;
    private int _tailLength;
    private TokenUsage? _usage;
    private bool _returned;

    /// <param name="eventStream">True: usage comes from data lines (<see cref="OnData"/>); false: from the body's tail.</param>
    public UsageTap(bool eventStream)
    {
        if (!eventStream)
        {
            _tail = System.Buffers.ArrayPool<byte>.Shared.Rent(TailBytes);
        }
    }

    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (_tail is null || _returned)
        {
            return;
        }
        if (chunk.Length >= TailBytes)
        {
            chunk[^TailBytes..].CopyTo(_tail);
            _tailLength = TailBytes;
            return;
        }
        int keep = Math.Min(_tailLength, TailBytes - chunk.Length);
        _tail.AsSpan(_tailLength - keep, keep).CopyTo(_tail);
        chunk.CopyTo(_tail.AsSpan(keep));
        _tailLength = keep + chunk.Length;
    }

    // Providers report usage with or after the chunk that carries the finish_reason (OpenAI's usage chunk follows it;
    // Groq and llama.cpp put it in that chunk): the chunks before it are not searched.
    public void OnData(ReadOnlySpan<byte> payload, bool answerComplete)
    {
        if (!answerComplete)
        {
            return;
        }
        int at = payload.IndexOf("\"usage\""u8);
        if (at >= 0 && FromProperty(payload[at..]) is { } usage)
        {
            _usage = usage;
        }
    }

    /// <summary>The usage seen (streams) or found in the body's tail (JSON); null when the provider sent none.</summary>
    public TokenUsage? Usage => _tail is null ? _usage : FromTail();

    private TokenUsage? FromTail()
    {
        var tail = _tail.AsSpan(0, _tailLength);
        int at = tail.LastIndexOf("\"usage\""u8);
        return at < 0 ? null : FromProperty(tail[at..]);
    }

    private static TokenUsage? FromProperty(ReadOnlySpan<byte> property)
    {
        int brace = property.IndexOf((byte)'{');
        int colon = property.IndexOf((byte)':');
        return brace < 0 || colon < 0 || colon > brace ? null : UsageParser.ParseUsageObject(property[brace..]);
    }

    public void Dispose()
    {
        if (_tail is not null && !_returned)
        {
            _returned = true;
            System.Buffers.ArrayPool<byte>.Shared.Return(_tail);
        }
    }

    /// <summary>
    /// Records the usage as gen_ai.client.token.usage (input and output) when metrics are read, gives the tail back,
    /// and returns the usage (null: none seen).
    /// </summary>
    public TokenUsage? Record(ExchangeInfo exchange, string? key)
    {
        var found = _returned ? null : Usage;
        Dispose();
        if (found is not { } usage || !GatewayMetrics.TokenUsage.Enabled)
        {
            return found;
        }
        var provider = exchange.ServedProvider ?? "none";
        var model = exchange.ServedLabel ?? GatewayMetrics.OtherModel;
        key ??= "none";
        GatewayMetrics.TokenUsage.Record(usage.PromptTokens, new TagList
        {
            { "gen_ai.token.type", "input" }, { "gen_ai.provider.name", provider }, { "gen_ai.response.model", model }, { "gateway.key", key },
        });
        GatewayMetrics.TokenUsage.Record(usage.CompletionTokens, new TagList
        {
            { "gen_ai.token.type", "output" }, { "gen_ai.provider.name", provider }, { "gen_ai.response.model", model }, { "gateway.key", key },
        });
        return found;
    }
}

/// <summary>Two receivers of the same data lines (the continuation tracker and the usage tap).</summary>
internal sealed class SinkPair(ISseDataSink first, ISseDataSink second) : ISseDataSink
{
    public void OnData(ReadOnlySpan<byte> payload, bool answerComplete)
    {
        first.OnData(payload, answerComplete);
        second.OnData(payload, answerComplete);
    }
}
