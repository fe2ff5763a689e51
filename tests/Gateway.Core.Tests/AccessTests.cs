using Gateway.Core.Access;
using Gateway.Core.Config;

namespace Gateway.Core.Tests;

public sealed class AccessTests
{
    [Theory]
    [InlineData("openai/*", "openai/gpt-4o", true)]
    [InlineData("openai/*", "OpenAI/gpt-4o", true)]
    [InlineData("openai/*", "openrouter/gpt-4o", false)]
    [InlineData("*", "anything/at/all", true)]
    [InlineData("smart", "smart", true)]
    [InlineData("smart", "smarter", false)]
    [InlineData("openrouter/*/llama-*", "openrouter/meta/llama-3", true)]
    [InlineData("gpt-?o", "gpt-4o", true)]
    [InlineData("openai/gpt-4o", "OPENAI/gpt-4o", true)]
    [InlineData("openai/gpt-4o", "OPENAI/GPT-4O", false)]
    [InlineData("openai/gpt-4o", "openai/GPT-4o", false)]
    [InlineData("OpenAI/gpt-4o", "openai/gpt-4o", true)]
    [InlineData("openai/*", "OPENAI/GPT-4O", true)]
    [InlineData("*/gpt-4o", "local/GPT-4O", false)]
    [InlineData("*/gpt-4o", "LOCAL/gpt-4o", true)]
    [InlineData("openrouter/meta-llama/*", "openrouter/Meta-Llama/x", false)]
    [InlineData("smart", "SMART", true)]
    [InlineData("sm?rt", "SMART", true)]
    public void Globs_MatchModelNames(string pattern, string model, bool expected) =>
        Assert.Equal(expected, ModelGlob.Matches(pattern, model));

    [Fact]
    public void KeyTable_FindsKeysByValue_AndNeverMatchesDisabledOrWrongOnes()
    {
        var table = new KeyTable(new AuthConfig([
            new ClientKeyConfig("team-a", new Secret("key-aaaa-1111"), ["openai/*"], null, null, null, null),
            new ClientKeyConfig("team-b", new Secret("key-bbbb-2222"), null, 10, null, null, null),
            new ClientKeyConfig("team-c", null, null, null, null, null, "key: environment variable C is not set"),
        ]));

        Assert.Equal("team-a", table.Find("key-aaaa-1111")?.Name);
        Assert.Equal("team-b", table.Find("key-bbbb-2222")?.Name);
        Assert.Null(table.Find("key-aaaa-111"));
        Assert.Null(table.Find(""));
        Assert.Null(table.Find(new string('x', 10_000)));
        Assert.False(table.IsOpen);
        Assert.True(new KeyTable(null).IsOpen);
        Assert.True(table.Find("key-aaaa-1111")!.MayUse("openai/gpt-4o"));
        Assert.False(table.Find("key-aaaa-1111")!.MayUse("local/llama"));
    }

    [Fact]
    public void MiddlewareConfig_IsParsed_AndValidated()
    {
        var environment = new EnvironmentExpander(name => name == "TEAM_A_KEY" ? "secret-team-a-key" : null);
        var valid = ConfigLoader.Parse("""
            providers:
              openai: { type: openai, base_url: "https://api.openai.com/v1" }
            auth:
              keys:
                - { name: team-a, key: "${TEAM_A_KEY}", models: ["openai/*"], rpm: 600, tpm: 200000, max_concurrent: 20 }
                - { name: team-b, key: "${TEAM_B_KEY}" }
            request_log: { format: text }
            headers: { drop_from_client: [user-agent], forward_from_client: [x-tenant] }
            completion_log: { sink: file, path: logs/c.jsonl, capture_bodies: true, queue_capacity: 50 }
            completion_buffer_max_bytes: 2048
            redact: { patterns: ['\d{4}'], replacement: "#", models: ["openai/*"] }
            """, environment).Config!;

        var teamA = valid.Auth!.Keys[0];
        Assert.Equal(("team-a", 600, 200000L, 20), (teamA.Name, teamA.Rpm!.Value, teamA.Tpm!.Value, teamA.MaxConcurrent!.Value));
        Assert.Equal("key: environment variable TEAM_B_KEY is not set", valid.Auth.Keys[1].DisabledReason);
        Assert.DoesNotContain("secret-team-a-key", teamA.ToString(), StringComparison.Ordinal);
        Assert.Equal(RequestLogFormat.Text, valid.RequestLog!.Format);
        Assert.Equal(["x-tenant"], valid.Headers!.ForwardFromClient);
        Assert.Equal(50, valid.CompletionLog!.QueueCapacity);
        Assert.True(valid.CompletionLog.CaptureBodies);
        Assert.Equal(2048, valid.CompletionBufferMaxBytes);
        Assert.Equal("#", valid.Redact!.Replacement);

        var invalid = ConfigLoader.Parse("""
            providers:
              openai: { type: openai, base_url: "https://api.openai.com/v1" }
            auth:
              keys:
                - { name: a, key: short }
                - { name: a, key: long-enough-key, rpm: 0 }
            request_log: { format: xml }
            headers: { forward_from_client: [x-ok, authorization, "bad name"], drop_from_client: ["bad:name"] }
            completion_log: { sink: kafka }
            redact: { patterns: ['(unclosed'] }
            """, environment);
        var errors = invalid.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains("line 5: auth.keys[0].key: must be 8 to 256 characters without spaces or control characters", errors);
        Assert.Contains("line 6: auth.keys[1].name: duplicate key name 'a'", errors);
        Assert.Contains("line 6: auth.keys[1].rpm: expected an integer from 1 to 10000000, got '0'", errors);
        Assert.Contains("line 7: request_log.format: expected json or text, got 'xml'", errors);
        // Each error under its own list and item, with its line.
        Assert.Contains("line 8: headers.forward_from_client[1]: 'authorization' can never be forwarded (a credential or hop-by-hop header)", errors);
        Assert.Contains("line 8: headers.forward_from_client[2]: 'bad name' is not a header name", errors);
        Assert.Contains("line 8: headers.drop_from_client[0]: 'bad:name' is not a header name", errors);
        Assert.Contains("line 9: completion_log.sink: expected file or elasticsearch, got 'kafka'", errors);
        Assert.Contains(errors, e => e.Contains("redact.patterns: invalid regular expression '(unclosed'", StringComparison.Ordinal));
    }
}
