using System.Buffers;
using System.Text.Json;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// Copies a JSON document as it is, except for named properties removed at any depth (with their comma) and the
/// top-level <c>model</c> value replaced: the bytes between are copied untouched, so key order, spacing and escapes
/// stay the provider's. One forward pass of <see cref="Utf8JsonReader"/> that only notes the cuts, then the copy:
/// nothing is written for a document that turns out not to be JSON. No DOM, no allocation.
/// </summary>
internal static class JsonFilter
{
    // Cuts per document: Azure chunks carry two or three filter objects; more is not a chunk this filter expects.
    private const int MaxCuts = 32;

    /// <param name="removed">Property names to leave out wherever they are; empty: none.</param>
    /// <param name="model">The top-level "model" value (raw string contents); empty: kept as sent.</param>
    /// <returns>False when <paramref name="json"/> is not valid JSON or has too many cuts (nothing was written).</returns>
    public static bool Copy(ReadOnlySpan<byte> json, IBufferWriter<byte> output, ReadOnlySpan<string> removed, ReadOnlySpan<byte> model)
    {
        Span<int> cuts = stackalloc int[MaxCuts * 2];
        int count = 0;
        int modelFrom = -1, modelTo = -1;
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }
                if (reader.CurrentDepth == 1 && !model.IsEmpty && modelFrom < 0 && reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        modelFrom = (int)reader.TokenStartIndex + 1;
                        modelTo = modelFrom + reader.ValueSpan.Length;
                    }
                    continue;
                }
                if (!IsRemoved(ref reader, removed))
                {
                    continue;
                }
                if (count == MaxCuts)
                {
                    return false;
                }
                int from = (int)reader.TokenStartIndex;
                reader.Read();
                reader.Skip();
                int to = (int)reader.BytesConsumed;
                int previousEnd = count == 0 ? 0 : cuts[(count * 2) - 1];
                int before = PreviousNonSpace(json, from);
                if (before >= previousEnd && json[before] == (byte)',')
                {
                    from = before;
                }
                else
                {
                    int after = NextNonSpace(json, to);
                    if (after < json.Length && json[after] == (byte)',')
                    {
                        to = after + 1;
                    }
                }
                cuts[count * 2] = from;
                cuts[(count * 2) + 1] = to;
                count++;
            }
        }
        catch (JsonException)
        {
            return false;
        }
        int copied = 0;
        for (int i = 0; i < count; i++)
        {
            int from = cuts[i * 2], to = cuts[(i * 2) + 1];
            if (modelFrom >= copied && modelFrom < from)
            {
                Replace(json, output, ref copied, modelFrom, modelTo, model);
            }
            output.Write(json[copied..from]);
            copied = to;
        }
        if (modelFrom >= copied)
        {
            Replace(json, output, ref copied, modelFrom, modelTo, model);
        }
        output.Write(json[copied..]);
        return true;
    }

    private static void Replace(ReadOnlySpan<byte> json, IBufferWriter<byte> output, ref int copied, int from, int to, ReadOnlySpan<byte> value)
    {
        output.Write(json[copied..from]);
        output.Write(value);
        copied = to;
    }

    private static bool IsRemoved(ref Utf8JsonReader reader, ReadOnlySpan<string> removed)
    {
        foreach (var name in removed)
        {
            if (reader.ValueTextEquals(name))
            {
                return true;
            }
        }
        return false;
    }

    private static int PreviousNonSpace(ReadOnlySpan<byte> json, int index)
    {
        int i = index - 1;
        while (i > 0 && json[i] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            i--;
        }
        return Math.Max(i, 0);
    }

    private static int NextNonSpace(ReadOnlySpan<byte> json, int index)
    {
        int i = index;
        while (i < json.Length && json[i] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            i++;
        }
        return i;
    }
}
