using System.Buffers;
using System.Text.Json;
using Gateway.Core.Config;

namespace Gateway.Core.Proxy.Continuation;

/// <summary>
/// The request that asks another target to continue an interrupted answer: the client's original body with that
/// target's model, and the text already delivered appended to "messages" as an assistant message to continue
/// (for vLLM also continue_final_message: true and add_generation_prompt: false).
/// </summary>
internal static class ContinuationBody
{
    /// <returns>The new body, or null when the request has no top-level "messages" array.</returns>
    public static byte[]? Build(ReadOnlySequence<byte> original, in RequestInspection inspection, ReadOnlySpan<byte> model, ReadOnlySpan<byte> deliveredText, PrefillMode mode)
    {
        var body = original.ToArray();
        int messagesEnd = FindMessagesArrayEnd(body);
        if (messagesEnd < 0)
        {
            return null;
        }
        bool hasMessages = body.AsSpan(0, messagesEnd).TrimEnd(" \t\r\n"u8)[^1] != (byte)'[';
        int modelStart = (int)inspection.ModelValueStart;
        int modelEnd = modelStart + inspection.ModelValueLength;
        int openBrace = body.AsSpan().IndexOf((byte)'{');

        var output = new ArrayBufferWriter<byte>(body.Length + deliveredText.Length + 128);
        output.Write(body.AsSpan(0, openBrace + 1));
        if (mode == PrefillMode.Vllm)
        {
            output.Write("\"continue_final_message\":true,\"add_generation_prompt\":false,"u8);
        }
        // Two splice points remain, the model value and the end of "messages", written in body order.
        int copied = openBrace + 1;
        bool modelFirst = modelStart < messagesEnd;
        for (int pass = 0; pass < 2; pass++)
        {
            if (modelFirst == (pass == 0))
            {
                output.Write(body.AsSpan(copied, modelStart - copied));
                output.Write(model);
                copied = modelEnd;
            }
            else
            {
                output.Write(body.AsSpan(copied, messagesEnd - copied));
                output.Write(hasMessages ? ",{\"role\":\"assistant\",\"content\":\""u8 : "{\"role\":\"assistant\",\"content\":\""u8);
                output.Write(deliveredText);
                output.Write("\"}"u8);
                copied = messagesEnd;
            }
        }
        output.Write(body.AsSpan(copied));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The offset of the closing ']' of the top-level "messages" array, or -1.</summary>
    private static int FindMessagesArrayEnd(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return -1;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isMessages = reader.ValueTextEquals("messages"u8);
                reader.Read();
                if (isMessages)
                {
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        return -1;
                    }
                    reader.Skip();
                    return (int)reader.TokenStartIndex;
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return -1;
    }
}
