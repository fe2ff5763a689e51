using System.Buffers;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// One stream's translation from a provider's events to OpenAI chat-completion chunks: stateful (block and tool
/// indices, usage, the finish reason), fed whole events by <see cref="TranslatingStream"/>, writing straight into its
/// output. Nothing per event is allocated: event names and fields are matched as UTF-8 and string values are copied
/// still escaped (docs/design.md, "Translating types").
/// </summary>
internal abstract class StreamTranslator : IDisposable
{
    /// <summary>
    /// Whether the answer ends with OpenAI's usage chunk. Set before the end of the stream: true while anything may
    /// read usage (tpm, metrics, the completion log, a client that asked), false when nothing does.
    /// </summary>
    public bool EmitUsage { get; set; } = true;

    /// <summary>Gives pooled buffers back (the relay disposes the translating stream, which disposes this).</summary>
    public abstract void Dispose();

    /// <param name="name">The event's <c>event:</c> name (empty when it has none).</param>
    /// <param name="data">Its <c>data:</c> lines, joined with '\n'.</param>
    public abstract void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output);

    /// <summary>The provider's stream ended: write what a complete answer ends with.</summary>
    /// <returns>False when the answer did not complete (no end marker): a truncation, never a clean end.</returns>
    public abstract bool OnEnd(IBufferWriter<byte> output);

    /// <summary>
    /// Set when the provider reported an error after content was written: the stream is broken (ended abnormally by
    /// the relay). An error before any content is written as an OpenAI error event instead, which the first-event
    /// check turns into a failure that may still fall back.
    /// </summary>
    public string? Failure { get; protected set; }

    /// <summary>
    /// Set with the error event when the provider refused the request itself before any content (Gemini's blocked
    /// prompt): the client's error (400 content_filter), not a failure to fall back from.
    /// </summary>
    public TranslationRefusal? Refusal { get; protected set; }
}

/// <summary>A whole (non-streamed) answer's translation: read as a document once, written in the other format.</summary>
internal abstract class BodyTranslator
{
    /// <returns>False when the provider's body is not an answer this translator can read, or refuses the request (<see cref="Refusal"/>).</returns>
    public virtual bool Translate(ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        System.Text.Json.JsonDocument document;
        try
        {
            document = System.Text.Json.JsonDocument.Parse(body.ToArray());
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
        using (document)
        {
            return TranslateDocument(document.RootElement, output);
        }
    }

    /// <summary>The answer, parsed: write its translation (a whole answer is held anyway, so a DOM costs nothing per event).</summary>
    protected virtual bool TranslateDocument(System.Text.Json.JsonElement root, IBufferWriter<byte> output) => false;

    /// <summary>Set when the answer is the provider refusing the request itself (Gemini's blocked prompt): the client's error.</summary>
    public TranslationRefusal? Refusal { get; protected set; }
}
