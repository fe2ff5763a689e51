namespace Gateway.Core.Providers.Gemini;

internal enum GeminiFinish : byte
{
    None,
    Stop,
    MaxTokens,
    Filtered,
    /// <summary>MALFORMED_FUNCTION_CALL and its kin: the model failed to produce a call it meant to make.</summary>
    BrokenCall,
    Other,
}

/// <summary>Gemini's <c>finishReason</c> to OpenAI's closed set (never a raw value: the OpenAI .NET SDK throws on unknown ones).</summary>
internal static class GeminiFinishes
{
    public static GeminiFinish Parse(ReadOnlySpan<byte> reason) => reason switch
    {
        _ when reason.SequenceEqual("STOP"u8) => GeminiFinish.Stop,
        _ when reason.SequenceEqual("MAX_TOKENS"u8) => GeminiFinish.MaxTokens,
        _ when reason.SequenceEqual("SAFETY"u8) || reason.SequenceEqual("BLOCKLIST"u8) || reason.SequenceEqual("PROHIBITED_CONTENT"u8)
            || reason.SequenceEqual("SPII"u8) || reason.SequenceEqual("RECITATION"u8) || reason.SequenceEqual("IMAGE_SAFETY"u8)
            || reason.SequenceEqual("IMAGE_PROHIBITED_CONTENT"u8) || reason.SequenceEqual("IMAGE_RECITATION"u8) || reason.SequenceEqual("LANGUAGE"u8)
            || reason.SequenceEqual("MODEL_ARMOR"u8) => GeminiFinish.Filtered,
        _ when reason.SequenceEqual("MALFORMED_FUNCTION_CALL"u8) || reason.SequenceEqual("UNEXPECTED_TOOL_CALL"u8)
            || reason.SequenceEqual("TOO_MANY_TOOL_CALLS"u8) || reason.SequenceEqual("MALFORMED_RESPONSE"u8) => GeminiFinish.BrokenCall,
        _ => GeminiFinish.Other,
    };

    public static bool IsBrokenCall(GeminiFinish finish) => finish == GeminiFinish.BrokenCall;

    /// <param name="sawCall">A call was made in this answer: Gemini says STOP for tool turns, OpenAI clients need tool_calls.</param>
    public static ReadOnlySpan<byte> ToOpenAi(GeminiFinish finish, bool sawCall) => finish switch
    {
        GeminiFinish.MaxTokens => "length"u8,
        GeminiFinish.Filtered => "content_filter"u8,
        GeminiFinish.Stop when sawCall => "tool_calls"u8,
        _ => "stop"u8,
    };
}
