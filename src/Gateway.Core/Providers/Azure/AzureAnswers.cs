using System.Buffers;
using System.Text.Json;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Azure;

/// <summary>
/// Azure OpenAI's answers made plain OpenAI ones (translation.md §2.4): a stream's chunks without choices and
/// without usage are dropped (the prompt-filter chunk first, the asynchronous filter's trailing chunks: clients that
/// read <c>choices[0]</c> crash on them), the content-filter fields are removed unless <c>azure_filter_results</c>,
/// and <c>model</c> names the served target's model (Azure reports the base model). Everything else is copied as sent.
/// </summary>
internal static class AzureAnswers
{
    private static readonly string[] s_filterFields = ["prompt_filter_results", "content_filter_results", "content_filter_offsets"];

    public static ReadOnlySpan<string> Removed(bool keepFilterResults) => keepFilterResults ? [] : s_filterFields;

    /// <summary>True when the chunk has an empty "choices" and no usage (nothing a client can use).</summary>
    public static bool IsEmptyChunk(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        bool emptyChoices = false, usage = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isChoices = reader.ValueTextEquals("choices"u8), isUsage = reader.ValueTextEquals("usage"u8);
                reader.Read();
                emptyChoices |= isChoices && reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.EndArray;
                usage |= isUsage && reader.TokenType == JsonTokenType.StartObject;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            return false;
        }
        return emptyChoices && !usage;
    }

    internal sealed class Stream(byte[] model, bool keepFilterResults) : StreamTranslator
    {
        public override void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
        {
            if (IsEmptyChunk(data))
            {
                return;
            }
            output.Write("data: "u8);
            if (!JsonFilter.Copy(data, output, Removed(keepFilterResults), model))
            {
                // [DONE], or anything that is not a JSON chunk: as sent.
                output.Write(data);
            }
            output.Write("\n\n"u8);
        }

        // Whether the answer completed is judged on the OpenAI chunks, as for any OpenAI stream.
        public override bool OnEnd(IBufferWriter<byte> output) => true;

        public override void Dispose()
        {
        }
    }

    internal sealed class Body(byte[] model, bool keepFilterResults) : BodyTranslator
    {
        public override bool Translate(ReadOnlySpan<byte> body, IBufferWriter<byte> output) =>
            JsonFilter.Copy(body, output, Removed(keepFilterResults), model);
    }
}
