using System.Buffers;
using System.Text.Json;

namespace Gateway.Core.Proxy;

/// <summary>What the gateway needs to know about a request body, as positions into the caller's bytes.</summary>
internal struct RequestInspection
{
    public GatewayError Error;

    /// <summary>A short explanation for the client; never echoes request bytes.</summary>
    public string? ErrorDetail;

    /// <summary>Offset of the first byte of the model value (just after its opening quote).</summary>
    public long ModelValueStart;

    /// <summary>Length of the raw (possibly escaped) model value between its quotes.</summary>
    public int ModelValueLength;

    public bool ModelIsEscaped;

    public bool Stream;

    /// <summary>The client set stream_options itself (then the gateway never adds it).</summary>
    public bool HasStreamOptions;

    /// <summary>Offset of the body's opening brace.</summary>
    public long ObjectStart;
}

/// <summary>
/// Finds the top-level "model" and "stream" of a JSON request with <see cref="Utf8JsonReader"/>: no DOM, no
/// deserialization, one forward pass that also validates the whole document (so a malformed body is a 400 here,
/// not a confusing error from the provider).
/// </summary>
internal static class RequestInspector
{
    public const int MaxModelLength = 256;

    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 64 };

    public static RequestInspection Inspect(in ReadOnlySequence<byte> body)
    {
        var result = new RequestInspection { ModelValueStart = -1 };
        if (IsBlank(body))
        {
            return Fail(GatewayError.EmptyBody, "The request body is empty; expected a JSON object.");
        }
        if (!Utf8Sequence.IsValid(body))
        {
            return Fail(GatewayError.InvalidJson, "The request body is not valid UTF-8.");
        }

        var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(s_options));
        GatewayError firstProblem = GatewayError.None;
        string? problemDetail = null;
        bool sawStream = false;
        try
        {
            if (!reader.Read())
            {
                return Fail(GatewayError.EmptyBody, "The request body is empty; expected a JSON object.");
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                while (reader.Read())
                {
                }
                return Fail(GatewayError.InvalidBodyType, "The request body must be a JSON object.");
            }
            result.ObjectStart = reader.TokenStartIndex;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    if (result.ModelValueStart >= 0)
                    {
                        Note(GatewayError.DuplicateKey, "The request body has more than one 'model' property.");
                    }
                    else if (reader.TokenType != JsonTokenType.String)
                    {
                        Note(GatewayError.InvalidModelType, "'model' must be a string such as \"openai/gpt-4o\".");
                    }
                    else
                    {
                        result.ModelValueStart = reader.TokenStartIndex + 1;
                        result.ModelValueLength = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
                        result.ModelIsEscaped = reader.ValueIsEscaped;
                    }
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    if (sawStream)
                    {
                        Note(GatewayError.DuplicateKey, "The request body has more than one 'stream' property.");
                    }
                    sawStream = true;
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.True:
                            result.Stream = true;
                            break;
                        case JsonTokenType.False or JsonTokenType.Null:
                            break;
                        default:
                            Note(GatewayError.InvalidStreamType, "'stream' must be true or false.");
                            reader.Skip();
                            break;
                    }
                }
                else
                {
                    result.HasStreamOptions |= reader.ValueTextEquals("stream_options"u8);
                    reader.Read();
                    reader.Skip();
                }
            }
            // Anything after the closing brace other than whitespace makes Read throw.
            while (reader.Read())
            {
            }
        }
        catch (JsonException e)
        {
            return Fail(GatewayError.InvalidJson,
                $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }

        if (firstProblem != GatewayError.None)
        {
            return Fail(firstProblem, problemDetail);
        }
        if (result.ModelValueStart < 0)
        {
            return Fail(GatewayError.MissingModel, "The request body must contain 'model', e.g. \"openai/gpt-4o\".");
        }
        return result;

        void Note(GatewayError error, string detail)
        {
            if (firstProblem == GatewayError.None)
            {
                firstProblem = error;
                problemDetail = detail;
            }
        }

        static RequestInspection Fail(GatewayError error, string? detail) =>
            new() { Error = error, ErrorDetail = detail, ModelValueStart = -1 };
    }

    /// <summary>
    /// The model name as bytes without JSON escapes. Allowed: ASCII letters, digits and <c>. _ : @ / + -</c>, at
    /// most <see cref="MaxModelLength"/>; this keeps control characters, quotes and URL syntax out of logs,
    /// headers and routing. Returns the length written to <paramref name="destination"/>, or -1 when invalid.
    /// </summary>
    public static int GetModel(in ReadOnlySequence<byte> body, in RequestInspection inspection, Span<byte> destination)
    {
        if (inspection.ModelValueLength > MaxModelLength * 6)
        {
            return -1;
        }
        // The quoted token, copied out of the (possibly segmented) body; sized to it, since stack memory is zeroed on
        // every call (a fixed buffer for the longest escaped name would be 1.5 KB per request).
        Span<byte> token = stackalloc byte[inspection.ModelValueLength + 2];
        body.Slice(inspection.ModelValueStart - 1, token.Length).CopyTo(token);
        int length;
        if (inspection.ModelIsEscaped)
        {
            var reader = new Utf8JsonReader(token);
            reader.Read();
            if (!TryCopyUnescaped(ref reader, destination, out length))
            {
                return -1;
            }
        }
        else
        {
            var raw = token[1..^1];
            if (raw.Length > destination.Length)
            {
                return -1;
            }
            raw.CopyTo(destination);
            length = raw.Length;
        }
        if (length is 0 or > MaxModelLength)
        {
            return length == 0 ? 0 : -1;
        }
        foreach (var b in destination[..length])
        {
            if (!IsModelByte(b))
            {
                return -1;
            }
        }
        return length;
    }

    private static bool IsBlank(in ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        reader.AdvancePastAny(" \t\r\n"u8);
        return reader.End;
    }

    private static bool TryCopyUnescaped(ref Utf8JsonReader reader, Span<byte> destination, out int length)
    {
        Span<byte> scratch = stackalloc byte[MaxModelLength * 4];
        try
        {
            length = reader.CopyString(scratch);
        }
        catch (ArgumentException)
        {
            length = 0;
            return false;
        }
        if (length > destination.Length)
        {
            return false;
        }
        scratch[..length].CopyTo(destination);
        return true;
    }

    private static bool IsModelByte(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'.' or (byte)'_' or (byte)':' or (byte)'@' or (byte)'/' or (byte)'+' or (byte)'-';
}
