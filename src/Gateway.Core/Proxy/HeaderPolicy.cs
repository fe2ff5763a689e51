using System.Collections.Frozen;
using System.Net.Http.Headers;

namespace Gateway.Core.Proxy;

/// <summary>
/// Which headers cross the gateway, in both directions. Allow-lists, not deny-lists: a header we did not think of
/// (a client credential, a provider's Set-Cookie, a hop-by-hop header) does not pass by default.
/// </summary>
internal static class HeaderPolicy
{
    /// <summary>Client headers forwarded to providers. Credentials never are: the provider's own key replaces them.</summary>
    public static readonly string[] ForwardedRequestHeaders =
        ["Accept", "Accept-Language", "User-Agent", "OpenAI-Beta", "Idempotency-Key", "traceparent", "tracestate"];

    /// <summary>Provider response headers passed to the client (content description, rate limits, processing metadata).</summary>
    private static readonly FrozenSet<string> s_forwardedResponseHeaders = new[]
    {
        "Content-Type", "Content-Encoding", "Content-Language",
        "Retry-After", "retry-after-ms", "x-should-retry",
        "openai-processing-ms", "openai-version", "openai-model",
        "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The built-in allow-list plus headers.forward_from_client, minus headers.drop_from_client.</summary>
    public static string[] ForwardedHeaders(Config.HeaderRulesConfig rules)
    {
        var names = new List<string>(ForwardedRequestHeaders);
        foreach (var name in rules.ForwardFromClient)
        {
            if (!names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                names.Add(name);
            }
        }
        names.RemoveAll(name => rules.DropFromClient.Contains(name, StringComparer.OrdinalIgnoreCase));
        return names.ToArray();
    }

    public static void CopyRequestHeaders(IDownstream client, HttpRequestMessage upstream, string[] forwarded)
    {
        var connectionTokens = client.RequestHeader("Connection");
        foreach (var name in forwarded)
        {
            if (client.RequestHeader(name) is { } value && !IsNamedIn(connectionTokens, name) && IsSafe(value))
            {
                upstream.Headers.TryAddWithoutValidation(name, value);
            }
        }
    }

    /// <param name="ownRateLimits">The gateway sets x-ratelimit-* for the caller's key: the provider's (for the gateway's provider key) are dropped.</param>
    /// <param name="scrubber">The provider's own credentials, masked wherever a passed-on value contains one.</param>
    public static void CopyResponseHeaders(HttpResponseMessage upstream, IDownstream client, bool ownRateLimits, SecretScrubber? scrubber)
    {
        foreach (var header in upstream.Headers.NonValidated)
        {
            if (s_forwardedResponseHeaders.Contains(header.Key)
                && !(ownRateLimits && header.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase)))
            {
                SetHeader(client, header.Key, header.Value, scrubber);
            }
        }
        foreach (var header in upstream.Content.Headers.NonValidated)
        {
            if (s_forwardedResponseHeaders.Contains(header.Key))
            {
                SetHeader(client, header.Key, header.Value, scrubber);
            }
        }
    }

    private static void SetHeader(IDownstream client, string name, HeaderStringValues values, SecretScrubber? scrubber)
    {
        if (scrubber is not null)
        {
            foreach (var value in values)
            {
                if (scrubber.Contains(value))
                {
                    var scrubbed = new List<string>(values.Count);
                    foreach (var each in values)
                    {
                        scrubbed.Add(scrubber.Scrub(each));
                    }
                    client.SetHeader(name, string.Join(", ", scrubbed));
                    return;
                }
            }
        }
        client.SetHeader(name, values);
    }

    public static bool IsEventStream(HttpResponseMessage upstream) =>
        upstream.Content.Headers.NonValidated.TryGetValues("Content-Type", out var values)
        && values.ToString().StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);

    // RFC 9110 §7.6.1: a header named in Connection is hop-by-hop even if it is otherwise end-to-end.
    private static bool IsNamedIn(string? connection, string name)
    {
        if (connection is null)
        {
            return false;
        }
        foreach (var range in connection.AsSpan().Split(','))
        {
            if (connection.AsSpan()[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsSafe(string value)
    {
        foreach (var c in value)
        {
            if (c < 0x20 && c != '\t' || c == 0x7f)
            {
                return false;
            }
        }
        return true;
    }
}
