using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Unicode;

namespace Gateway.Core.Ingress.Anthropic;

/// <summary>
/// The fast path of <see cref="OpenAiChunk"/> for the chunks that make up a stream — text, reasoning and tool-call
/// deltas, the finish (translation.md §4: Bifrost's specialised decoder for the dominant shape). One strict pass over
/// the bytes by RFC 8259 (whitespace, strings and their escapes, numbers, literals, nesting up to half the reader's depth),
/// long strings passed with a vectorized search: cheaper per event than a <see cref="System.Text.Json.Utf8JsonReader"/>
/// pass, the largest share of a translated event's cost. It declines (false) whatever it does not read the way the reader path does or cannot judge —
/// a usage or error object, a second choice, a key with an escape, invalid UTF-8, bytes after the object — and the
/// reader path then reads the chunk; so its answers are the reader's (checked side by side in the tests). Over 400
/// lines: the grammar, small as it is, reads best in one place.
/// </summary>
internal ref struct OpenAiChunkScanner
{
    // Below the reader's own limit (64): a chunk nested deeper is the reader's to judge.
    private const int MaxDepth = 32;

    // Where a string's plain run ends: its closing quote, an escape, or a control character (never allowed raw).
    private static readonly SearchValues<byte> s_stringStops = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, (byte)'"', (byte)'\\']);

    private readonly ReadOnlySpan<byte> _json;
    private int _pos;
    private int _depth;

    public ReadOnlySpan<byte> Id;
    public ReadOnlySpan<byte> Content;
    public ReadOnlySpan<byte> Reasoning;
    public ReadOnlySpan<byte> ToolCalls;
    public ReadOnlySpan<byte> FinishReason;
    public bool NoChoices;

    public OpenAiChunkScanner(ReadOnlySpan<byte> json) => _json = json;

    /// <returns>True when the chunk was read whole; false: the reader path must read it.</returns>
    public bool TryScan()
    {
        if (!Utf8.IsValid(_json))
        {
            return false;
        }
        SkipWhitespace();
        if (Peek() != '{' || !Top())
        {
            return false;
        }
        SkipWhitespace();
        return _pos == _json.Length;
    }

    // Whose members an object has: the chunk's, its choice's, the choice's delta, or anything else (passed over).
    private enum Level : byte
    {
        Chunk,
        Choice,
        Delta,
        Other,
    }

    private bool _sawChoices;

    private bool Top() => Object(Level.Chunk);

    /// <summary>An object (on its brace): each member read by its level's rule.</summary>
    private bool Object(Level level)
    {
        if (!Enter())
        {
            return false;
        }
        if (Peek() == '}')
        {
            return Leave();
        }
        while (true)
        {
            if (!Key(out var key) || !Member(level, key) || !NextMember(out bool end))
            {
                return false;
            }
            if (end)
            {
                return true;
            }
        }
    }

    private bool Member(Level level, ReadOnlySpan<byte> key) => level switch
    {
        Level.Chunk => ChunkMember(key),
        Level.Choice => ChoiceMember(key),
        Level.Delta => DeltaMember(key),
        _ => Value(),
    };

    private bool ChunkMember(ReadOnlySpan<byte> key)
    {
        if (key.SequenceEqual("id"u8))
        {
            return StringOrOther(out Id);
        }
        if (key.SequenceEqual("choices"u8))
        {
            bool first = !_sawChoices;
            _sawChoices = true;
            return first && Choices();
        }
        // OpenAI sends "usage": null on every chunk of a stream that asked for it; the usage itself is the reader's,
        // and so is an error.
        return key.SequenceEqual("usage"u8) ? Literal("null"u8) : !key.SequenceEqual("error"u8) && Value();
    }

    /// <summary>The choices array: none, or exactly one choice (a second is the reader's).</summary>
    private bool Choices()
    {
        if (Peek() != '[')
        {
            return Value();
        }
        NoChoices = true;
        if (!Enter())
        {
            return false;
        }
        if (Peek() == ']')
        {
            return Leave();
        }
        if (Peek() != '{')
        {
            return false;
        }
        NoChoices = false;
        if (!Object(Level.Choice))
        {
            return false;
        }
        SkipWhitespace();
        return Peek() == ']' && Leave();
    }

    private bool ChoiceMember(ReadOnlySpan<byte> key) =>
        key.SequenceEqual("finish_reason"u8) ? StringOrOther(out FinishReason)
        : (key.SequenceEqual("delta"u8) || key.SequenceEqual("message"u8)) && Peek() == '{' ? Object(Level.Delta)
        : Value();

    private bool DeltaMember(ReadOnlySpan<byte> key)
    {
        if (key.SequenceEqual("content"u8))
        {
            return StringOrOther(out Content);
        }
        if (key.SequenceEqual("reasoning_content"u8) || key.SequenceEqual("reasoning"u8))
        {
            return StringOrOther(out Reasoning);
        }
        if (!key.SequenceEqual("tool_calls"u8))
        {
            return Value();
        }
        int start = _pos;
        bool isArray = Peek() == '[';
        bool read = Value();
        ToolCalls = isArray ? _json[start.._pos] : default;
        return read;
    }

    /// <summary>A string's raw (still escaped) contents; any other value is read and gives nothing, as in the reader path.</summary>
    private bool StringOrOther(out ReadOnlySpan<byte> raw)
    {
        raw = default;
        return Peek() == '"' ? String(out raw) : Value();
    }

    /// <summary>Any value, checked and passed over.</summary>
    private bool Value()
    {
        switch (Peek())
        {
            case (byte)'"':
                return String(out _);
            case (byte)'{':
                return Object(Level.Other);
            case (byte)'[':
                return Array();
            case (byte)'t':
                return Literal("true"u8);
            case (byte)'f':
                return Literal("false"u8);
            case (byte)'n':
                return Literal("null"u8);
            default:
                return Number();
        }
    }

    private bool Array()
    {
        if (!Enter())
        {
            return false;
        }
        if (Peek() == ']')
        {
            return Leave();
        }
        while (true)
        {
            if (!Value())
            {
                return false;
            }
            SkipWhitespace();
            if (Peek() == ']')
            {
                return Leave();
            }
            if (Peek() != ',')
            {
                return false;
            }
            _pos++;
            SkipWhitespace();
        }
    }

    /// <summary>A member's name (without escapes) and its colon; the value's first byte follows.</summary>
    private bool Key(out ReadOnlySpan<byte> key)
    {
        key = default;
        if (Peek() != '"')
        {
            return false;
        }
        int start = _pos + 1;
        int stop = StopAt(start);
        if (stop >= _json.Length || _json[stop] != '"')
        {
            return false;
        }
        key = _json[start..stop];
        _pos = stop + 1;
        SkipWhitespace();
        if (Peek() != ':')
        {
            return false;
        }
        _pos++;
        SkipWhitespace();
        return true;
    }

    /// <summary>After a member: a comma and the next key's start, or the object's end.</summary>
    private bool NextMember(out bool end)
    {
        SkipWhitespace();
        end = Peek() == '}';
        if (end)
        {
            return Leave();
        }
        if (Peek() != ',')
        {
            return false;
        }
        _pos++;
        SkipWhitespace();
        return true;
    }

    private bool String(out ReadOnlySpan<byte> raw)
    {
        raw = default;
        int start = _pos + 1;
        int at = start;
        while (true)
        {
            at = StopAt(at);
            if (at >= _json.Length)
            {
                return false;
            }
            switch (_json[at])
            {
                case (byte)'"':
                    raw = _json[start..at];
                    _pos = at + 1;
                    return true;
                case (byte)'\\':
                    int length = EscapeLength(at + 1);
                    if (length == 0)
                    {
                        return false;
                    }
                    at += 1 + length;
                    break;
                default:
                    return false;
            }
        }
    }

    /// <summary>
    /// Where the plain run of a string from <paramref name="at"/> ends (the length of the chunk: nowhere). Names and
    /// most values are short: a plain loop finds their end sooner than the vectorized search starts up.
    /// </summary>
    private readonly int StopAt(int at)
    {
        int shortEnd = Math.Min(at + 24, _json.Length);
        for (; at < shortEnd; at++)
        {
            byte b = _json[at];
            if (b < 0x20 || b == '"' || b == '\\')
            {
                return at;
            }
        }
        int stop = _json[at..].IndexOfAny(s_stringStops);
        return stop < 0 ? _json.Length : at + stop;
    }

    /// <summary>The length of the escape after a backslash (0: not a valid escape).</summary>
    private readonly int EscapeLength(int at)
    {
        if (at >= _json.Length)
        {
            return 0;
        }
        switch (_json[at])
        {
            case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                return 1;
            case (byte)'u':
                if (at + 4 >= _json.Length)
                {
                    return 0;
                }
                for (int i = 1; i <= 4; i++)
                {
                    if (!char.IsAsciiHexDigit((char)_json[at + i]))
                    {
                        return 0;
                    }
                }
                return 5;
            default:
                return 0;
        }
    }

    private bool Number()
    {
        if (Peek() == '-')
        {
            _pos++;
        }
        if (Peek() == '0')
        {
            _pos++;
        }
        else if (!Digits())
        {
            return false;
        }
        if (Peek() == '.')
        {
            _pos++;
            if (!Digits())
            {
                return false;
            }
        }
        if (Peek() is (byte)'e' or (byte)'E')
        {
            _pos++;
            if (Peek() is (byte)'+' or (byte)'-')
            {
                _pos++;
            }
            return Digits();
        }
        return true;
    }

    /// <returns>False when no digit is there.</returns>
    private bool Digits()
    {
        int start = _pos;
        while (char.IsAsciiDigit((char)Peek()))
        {
            _pos++;
        }
        return _pos > start;
    }

    private bool Literal(ReadOnlySpan<byte> literal)
    {
        if (!_json[_pos..].StartsWith(literal))
        {
            return false;
        }
        _pos += literal.Length;
        return true;
    }

    /// <summary>Steps into an object or array (the reader's depth limit holds), to its first member or element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Enter()
    {
        if (++_depth > MaxDepth)
        {
            return false;
        }
        _pos++;
        SkipWhitespace();
        return true;
    }

    /// <summary>Steps past the closing brace or bracket.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Leave()
    {
        _depth--;
        _pos++;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SkipWhitespace()
    {
        while (Peek() is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            _pos++;
        }
    }

    // 0 past the end: no rule accepts it, so every check fails there.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly byte Peek() => _pos < _json.Length ? _json[_pos] : (byte)0;
}
