namespace Gateway.Core.Providers.Anthropic;

internal enum StopReason : byte
{
    /// <summary>None given, or a value this gateway does not know (the API adds them): a normal stop.</summary>
    Other,
    EndTurn,
    ToolUse,
    MaxTokens,
    Refusal,
}

/// <summary>Anthropic's <c>stop_reason</c> to OpenAI's closed set of finish reasons (a raw value would crash the OpenAI .NET SDK).</summary>
internal static class AnthropicFinish
{
    public static StopReason Parse(ReadOnlySpan<byte> reason) => reason switch
    {
        _ when reason.SequenceEqual("end_turn"u8) || reason.SequenceEqual("stop_sequence"u8) || reason.SequenceEqual("pause_turn"u8) => StopReason.EndTurn,
        _ when reason.SequenceEqual("tool_use"u8) => StopReason.ToolUse,
        _ when reason.SequenceEqual("max_tokens"u8) || reason.SequenceEqual("model_context_window_exceeded"u8) => StopReason.MaxTokens,
        _ when reason.SequenceEqual("refusal"u8) => StopReason.Refusal,
        _ => StopReason.Other,
    };

    public static ReadOnlySpan<byte> ToOpenAi(StopReason reason) => reason switch
    {
        StopReason.ToolUse => "tool_calls"u8,
        StopReason.MaxTokens => "length"u8,
        StopReason.Refusal => "content_filter"u8,
        _ => "stop"u8,
    };
}
