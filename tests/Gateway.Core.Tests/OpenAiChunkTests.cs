using System.Text;
using Gateway.Core.Ingress.Anthropic;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Tests;

/// <summary>
/// Reading OpenAI chunks for <c>/v1/messages</c> streams: the fast scanner gives exactly what the reader path gives for
/// every chunk it accepts, declines what it does not handle, and hostile values (a null count, a null error) break
/// neither path.
/// </summary>
public sealed class OpenAiChunkTests
{
    private const string Text = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" token with \"quotes\""},"logprobs":null,"finish_reason":null}],"usage":null}""";

    private static readonly string[] s_seeds =
    [
        Text,
        """{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
        """{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"Let me think\n\u00e9\\ \/ \b\f\r\t"},"finish_reason":null}]}""",
        """{"id":"c","choices":[{"index":0,"delta":{"reasoning":"r","content":null}}]}""",
        """{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"city\":"}}]},"finish_reason":null}]}""",
        """{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
        """{"id":"c","choices":[{"index":0,"message":{"content":"whole"},"finish_reason":"stop"}]}""",
        """{"id":"c","choices":[],"usage":null}""",
        """ { "id" : "spaced" , "choices" : [ { "delta" : { "content" : "a b" } , "finish_reason" : null } ] } """,
        """{"id":"c","choices":[{"delta":{"content":"日本語のテキスト ✓"},"logprobs":{"content":[{"token":"x","logprob":-0.5e+10,"bytes":[1,2,3],"top_logprobs":[]}]},"finish_reason":null}],"n":[true,false,null,0,-1.25,1E3]}""",
        """{"id":7,"choices":[{"delta":{"content":5,"tool_calls":{"not":"an array"}},"finish_reason":7}]}""",
        """{"id":"c","choices":{"not":"an array"}}""",
        """{}""",
    ];

    [Fact]
    public void The_scanner_reads_a_text_chunk_like_the_reader()
    {
        var json = Encoding.UTF8.GetBytes(Text);
        var scanner = new OpenAiChunkScanner(json);
        Assert.True(scanner.TryScan());
        var chunk = new OpenAiChunk(json);
        Assert.Equal(" token with \\\"quotes\\\"", Encoding.UTF8.GetString(chunk.Content));
        Assert.Equal("chatcmpl-1", Encoding.UTF8.GetString(chunk.Id));
        Assert.True(chunk.FinishReason.IsEmpty);
        Assert.False(chunk.HasUsage);
        AssertSame(json);
    }

    [Fact]
    public void Every_seed_is_read_by_the_scanner_and_agrees_with_the_reader()
    {
        foreach (var seed in s_seeds)
        {
            var json = Encoding.UTF8.GetBytes(seed);
            Assert.True(new OpenAiChunkScanner(json).TryScan(), seed);
            AssertSame(json);
        }
    }

    [Theory]
    [InlineData("""{"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}}""")]
    [InlineData("""{"error":{"message":"overloaded","code":"overloaded"}}""")]
    [InlineData("""{"id":"c","choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}""")]
    [InlineData("""{"\u0069d":"escaped key"}""")]
    [InlineData("""{"id":"c"} trailing""")]
    [InlineData("""{"id":"c","choices":[1]}""")]
    [InlineData("""{"id":"c","choices":[],"choices":[]}""")]
    [InlineData("""[{"id":"c"}]""")]
    [InlineData("")]
    public void The_scanner_declines_what_the_reader_reads(string text)
    {
        var json = Encoding.UTF8.GetBytes(text);
        Assert.False(new OpenAiChunkScanner(json).TryScan());
    }

    [Fact]
    public void The_scanner_declines_invalid_utf8_and_deep_nesting()
    {
        byte[] invalid = [.. Encoding.UTF8.GetBytes("""{"id":"""), (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}'];
        Assert.False(new OpenAiChunkScanner(invalid).TryScan());
        var deep = Encoding.UTF8.GetBytes("{\"a\":" + new string('[', 70) + new string(']', 70) + "}");
        Assert.False(new OpenAiChunkScanner(deep).TryScan());
        Assert.True(new OpenAiChunk(deep, fastPath: false).Invalid);
    }

    [Fact]
    public void Malformed_chunks_are_declined_and_the_reader_finds_them_invalid()
    {
        string[] malformed =
        [
            """{"id":"c",}""", """{"id":"c" "x":1}""", """{"id":'c'}""", """{"id":"c\x"}""", """{"id":"c\u12G4"}""",
            "{\"id\":\"tab\tinside\"}", """{"n":01}""", """{"n":1.}""", """{"n":-}""", """{"n":1e}""", """{"n":tru}""",
            """{"n":nul}""", """{"a":[1,]}""", """{"a":[1 2]}""", """{"a":{"b"}}""", """{"id":"unterminated""", """{"a":NaN}""",
            """{"a":+1}""", """{"a":.5}""", """{"a":1}}""",
        ];
        foreach (var text in malformed)
        {
            var json = Encoding.UTF8.GetBytes(text);
            Assert.False(new OpenAiChunkScanner(json).TryScan(), text);
            if (!text.EndsWith("}}", StringComparison.Ordinal))
            {
                Assert.True(new OpenAiChunk(json, fastPath: false).Invalid, text);
            }
        }
    }

    /// <summary>
    /// Thousands of damaged chunks (a byte removed, replaced or doubled at every position of every seed, with the bytes
    /// JSON gives meaning to): whatever the scanner accepts, the reader reads alike and finds valid.
    /// </summary>
    [Fact]
    public void Damaged_chunks_are_declined_or_read_alike()
    {
        byte[] meaningful = "{}[]\",:\\ 0-.eE+tfnu\n\u0001"u8.ToArray();
        int accepted = 0, cases = 0;
        foreach (var seed in s_seeds)
        {
            var original = Encoding.UTF8.GetBytes(seed);
            for (int at = 0; at < original.Length; at++)
            {
                foreach (var damaged in Damage(original, at, meaningful))
                {
                    cases++;
                    if (new OpenAiChunkScanner(damaged).TryScan())
                    {
                        accepted++;
                        Assert.False(new OpenAiChunk(damaged, fastPath: false).Invalid, Encoding.UTF8.GetString(damaged));
                        AssertSame(damaged);
                    }
                }
            }
        }
        Assert.True(cases > 10_000 && accepted > 1_000, $"{accepted} of {cases} accepted");
    }

    [Fact]
    public void A_null_count_or_a_null_error_breaks_nothing()
    {
        var usage = new OpenAiChunk("""{"id":"c","choices":[],"usage":{"prompt_tokens":null,"completion_tokens":"5","prompt_tokens_details":{"cached_tokens":{}}}}"""u8);
        Assert.False(usage.Invalid);
        Assert.True(usage.HasUsage);
        Assert.Equal((0L, 0L, 0L), (usage.PromptTokens, usage.CompletionTokens, usage.CachedTokens));
        var noError = new OpenAiChunk("""{"id":"c","error":null,"choices":[{"delta":{"content":"a"}}]}"""u8);
        Assert.False(noError.IsError);
        Assert.Equal("a", Encoding.UTF8.GetString(noError.Content));
    }

    [Fact]
    public void A_whole_answer_with_hostile_values_still_translates()
    {
        var answer = """{"id":"c","choices":[{"message":{"content":"hi","tool_calls":[1,{"id":5,"function":{"name":7,"arguments":{}}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":null,"completion_tokens":2}}"""u8;
        using var output = new PooledBufferWriter(1024);
        Assert.True(new MessagesAnswer(new MessagesFacts("claude", null, null)).Translate(answer, output));
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.Contains("\"stop_reason\":\"tool_use\"", text, StringComparison.Ordinal);
        Assert.Contains("\"usage\":{\"input_tokens\":0,\"output_tokens\":2", text, StringComparison.Ordinal);
        Assert.False(new MessagesAnswer(new MessagesFacts("claude", null, null)).Translate("""{"choices":[7]}"""u8, output));
    }

    private static IEnumerable<byte[]> Damage(byte[] original, int at, byte[] meaningful)
    {
        yield return [.. original.AsSpan(0, at), .. original.AsSpan(at + 1)];
        yield return [.. original.AsSpan(0, at + 1), .. original.AsSpan(at)];
        foreach (byte b in meaningful)
        {
            if (original[at] != b)
            {
                var replaced = (byte[])original.Clone();
                replaced[at] = b;
                yield return replaced;
            }
        }
    }

    private static void AssertSame(byte[] json)
    {
        var fast = new OpenAiChunk(json);
        var reader = new OpenAiChunk(json, fastPath: false);
        var text = Encoding.UTF8.GetString(json);
        Assert.Equal(reader.Invalid, fast.Invalid);
        Assert.Equal(Encoding.UTF8.GetString(reader.Id), Encoding.UTF8.GetString(fast.Id));
        Assert.True(reader.Content.SequenceEqual(fast.Content), text);
        Assert.True(reader.Reasoning.SequenceEqual(fast.Reasoning), text);
        Assert.True(reader.ToolCalls.SequenceEqual(fast.ToolCalls), text);
        Assert.True(reader.FinishReason.SequenceEqual(fast.FinishReason), text);
        Assert.Equal((reader.NoChoices, reader.HasUsage, reader.IsError), (fast.NoChoices, fast.HasUsage, fast.IsError));
    }
}
