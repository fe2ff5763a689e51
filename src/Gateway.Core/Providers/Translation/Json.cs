using System.Text.Json;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// The few <see cref="Utf8JsonReader"/> steps the stream translators share (one forward pass, spans of the event
/// itself), and the one reading of a count the whole-answer translations share.
/// </summary>
internal static class Json
{
    /// <summary>The next value's raw string contents (still escaped) as a slice of <paramref name="json"/>; empty for null and any other value (skipped).</summary>
    public static ReadOnlySpan<byte> String(ReadOnlySpan<byte> json, scoped ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            // The token starts at its opening quote; its raw contents follow.
            return json.Slice((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
        }
        reader.Skip();
        return default;
    }

    /// <summary>The next value as a whole number; 0 for anything else (null, a fraction, an object: skipped).</summary>
    public static long Int64(scoped ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long value))
        {
            return value;
        }
        reader.Skip();
        return 0;
    }

    /// <summary>Reads the next value: true when it is an object (the reader is on its start), else skips it.</summary>
    public static bool EnterObject(scoped ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            return true;
        }
        reader.Skip();
        return false;
    }

    /// <summary>Skips the next value, whatever it is.</summary>
    public static void Skip(scoped ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    /// <summary>A whole-number member of <paramref name="obj"/>; 0 when it is missing or anything else (null, a string, a fraction).</summary>
    public static long Count(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long count) ? count : 0;
}
