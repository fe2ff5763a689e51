using System.Text;
using System.Text.Json;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// Reads an OpenAI chat-completion event stream as a client would, checking on the way every property a translated
/// stream must have (translation.md §5): one id/created/model on every chunk, choice index 0, tool-call indices
/// 0..n-1 in order of first appearance with id/type/name only on their first delta, finish reasons from OpenAI's set
/// only, exactly one finish, <c>[DONE]</c> once and last on success and never after an error. The result is the
/// accumulated message, for comparisons with the SDK's accumulation and with the non-streamed answer.
/// </summary>
internal sealed record OpenAiStream(string Content, IReadOnlyList<(string Id, string Name, string Arguments)> ToolCalls, string? FinishReason,
    JsonElement? Usage, bool Done, string? Error)
{
    private static readonly string[] s_finishReasons = ["stop", "length", "tool_calls", "content_filter"];

    /// <param name="continued">A continued stream: its later chunks name the model that continued it, and its own created time.</param>
    public static OpenAiStream Read(string sse, bool continued = false)
    {
        var events = sse.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        string? id = null, model = null;
        long created = -1;
        var content = new StringBuilder();
        var tools = new List<(string Id, string Name, StringBuilder Arguments)>();
        string? finish = null, error = null;
        JsonElement? usage = null;
        bool done = false;
        foreach (var @event in events)
        {
            if (@event.StartsWith(':'))
            {
                continue;
            }
            Assert.StartsWith("data: ", @event, StringComparison.Ordinal);
            Assert.False(done, "nothing may follow [DONE]");
            var data = @event["data: ".Length..];
            if (data == "[DONE]")
            {
                Assert.Null(error);
                done = true;
                continue;
            }
            using var document = JsonDocument.Parse(data);
            var chunk = document.RootElement;
            if (chunk.TryGetProperty("error", out var e))
            {
                Assert.Null(error);
                error = e.GetProperty("code").GetString();
                continue;
            }
            Assert.Null(error);
            Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString());
            id ??= chunk.GetProperty("id").GetString();
            model ??= chunk.GetProperty("model").GetString();
            created = created < 0 ? chunk.GetProperty("created").GetInt64() : created;
            Assert.Equal(id, chunk.GetProperty("id").GetString());
            if (!continued)
            {
                Assert.Equal(model, chunk.GetProperty("model").GetString());
                Assert.Equal(created, chunk.GetProperty("created").GetInt64());
            }
            var choices = chunk.GetProperty("choices");
            if (choices.GetArrayLength() == 0)
            {
                Assert.Null(usage);
                usage = chunk.GetProperty("usage").Clone();
                continue;
            }
            var choice = Assert.Single(choices.EnumerateArray());
            Assert.Equal(0, choice.GetProperty("index").GetInt32());
            Assert.Null(usage);
            if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
            {
                Assert.Null(finish);
                finish = choice.GetProperty("finish_reason").GetString();
                Assert.Contains(finish, s_finishReasons);
            }
            else
            {
                Assert.Null(finish);
            }
            var delta = choice.GetProperty("delta");
            if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
            {
                content.Append(c.GetString());
            }
            if (delta.TryGetProperty("tool_calls", out var calls))
            {
                foreach (var call in calls.EnumerateArray())
                {
                    int index = call.GetProperty("index").GetInt32();
                    var function = call.GetProperty("function");
                    if (index == tools.Count)
                    {
                        Assert.Equal("function", call.GetProperty("type").GetString());
                        tools.Add((call.GetProperty("id").GetString()!, function.GetProperty("name").GetString()!, new StringBuilder()));
                    }
                    else
                    {
                        Assert.True(index < tools.Count, $"tool index {index} skips ahead of {tools.Count}");
                        Assert.False(call.TryGetProperty("id", out _), "id only on a call's first delta");
                        Assert.False(call.TryGetProperty("type", out _), "type only on a call's first delta");
                        Assert.False(function.TryGetProperty("name", out _), "name only on a call's first delta");
                    }
                    if (function.TryGetProperty("arguments", out var arguments))
                    {
                        tools[index].Arguments.Append(arguments.GetString());
                    }
                }
            }
        }
        if (error is null)
        {
            Assert.NotNull(finish);
        }
        return new OpenAiStream(content.ToString(), tools.ConvertAll(t => (t.Id, t.Name, t.Arguments.ToString())), finish, usage, done, error);
    }
}
