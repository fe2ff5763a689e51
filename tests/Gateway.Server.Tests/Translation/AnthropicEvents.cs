using System.Text.Json;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// Reads an Anthropic Messages event stream as the Anthropic SDKs and Claude Code do, checking every rule of
/// translation.md §3.3 on the way: an <c>event:</c> line naming each event's type, one <c>message_start</c> first
/// with full-shape usage, block indices 0, 1, 2… in start order, each block started before its deltas and stopped
/// before the next starts, a delta's type matching its block, <c>message_delta</c> with usage before
/// <c>message_stop</c>, which is last; an error event ends the stream. Returns the accumulated message.
/// </summary>
internal sealed record AnthropicEvents(IReadOnlyList<(string Type, string Text)> Blocks, string? StopReason, JsonElement? Usage, bool Stopped, string? Error)
{
    public static AnthropicEvents Read(string sse)
    {
        var blocks = new List<(string Type, System.Text.StringBuilder Text)>();
        int open = -1;
        bool started = false, stopped = false;
        string? stop = null, error = null;
        JsonElement? usage = null;
        foreach (var @event in sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = @event.Split('\n');
            if (lines[0].StartsWith(':'))
            {
                continue;
            }
            Assert.False(stopped || error is not null, "nothing may follow message_stop or an error");
            Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("data: ", lines[1], StringComparison.Ordinal);
            var name = lines[0]["event: ".Length..];
            using var document = JsonDocument.Parse(lines[1]["data: ".Length..]);
            var data = document.RootElement;
            Assert.Equal(name, data.GetProperty("type").GetString());
            if (name == "error")
            {
                error = data.GetProperty("error").GetProperty("type").GetString();
                continue;
            }
            Assert.True(started || name == "message_start", $"{name} before message_start");
            switch (name)
            {
                case "message_start":
                    Assert.False(started);
                    started = true;
                    var startUsage = data.GetProperty("message").GetProperty("usage");
                    foreach (var field in new[] { "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens" })
                    {
                        Assert.Equal(JsonValueKind.Number, startUsage.GetProperty(field).ValueKind);
                    }
                    break;
                case "content_block_start":
                    Assert.Equal(-1, open);
                    Assert.Equal(blocks.Count, data.GetProperty("index").GetInt32());
                    var block = data.GetProperty("content_block");
                    blocks.Add((block.GetProperty("type").GetString()!, new System.Text.StringBuilder(block.GetProperty("type").GetString() == "tool_use"
                        ? block.GetProperty("id").GetString() + ":" + block.GetProperty("name").GetString() + ":" : "")));
                    open = blocks.Count - 1;
                    break;
                case "content_block_delta":
                    Assert.Equal(open, data.GetProperty("index").GetInt32());
                    var delta = data.GetProperty("delta");
                    var (expected, field2) = blocks[open].Type switch
                    {
                        "text" => ("text_delta", "text"),
                        "thinking" => ("thinking_delta", "thinking"),
                        _ => ("input_json_delta", "partial_json"),
                    };
                    Assert.Equal(expected, delta.GetProperty("type").GetString());
                    blocks[open].Text.Append(delta.GetProperty(field2).GetString());
                    break;
                case "content_block_stop":
                    Assert.Equal(open, data.GetProperty("index").GetInt32());
                    open = -1;
                    break;
                case "message_delta":
                    Assert.Equal(-1, open);
                    stop = data.GetProperty("delta").GetProperty("stop_reason").GetString();
                    usage = data.GetProperty("usage").Clone();
                    Assert.Equal(JsonValueKind.Number, usage.Value.GetProperty("output_tokens").ValueKind);
                    break;
                case "message_stop":
                    Assert.NotNull(stop);
                    stopped = true;
                    break;
                case "ping":
                    break;
                default:
                    Assert.Fail($"unexpected event {name}");
                    break;
            }
        }
        if (blocks.Exists(b => b.Type == "tool_use") && stopped)
        {
            Assert.Equal("tool_use", stop);
        }
        return new AnthropicEvents(blocks.ConvertAll(b => (b.Type, b.Text.ToString())), stop, usage, stopped, error);
    }
}
