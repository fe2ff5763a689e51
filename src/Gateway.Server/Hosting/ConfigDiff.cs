using Gateway.Core.Config;

namespace Gateway.Server.Hosting;

/// <summary>The one-line summary of a reload: providers, strategies and keys added, removed or changed (keys by name only).</summary>
internal static class ConfigDiff
{
    public static string Describe(GatewayConfig before, GatewayConfig after)
    {
        var parts = new List<string>();
        Compare(parts, "providers", before.Providers.ToDictionary(p => p.Name, p => (object)p), after.Providers.ToDictionary(p => p.Name, p => (object)p));
        Compare(parts, "strategies", before.Strategies.ToDictionary(s => s.Name, s => (object)s), after.Strategies.ToDictionary(s => s.Name, s => (object)s));
        Compare(parts, "keys", (before.Auth?.Keys ?? []).ToDictionary(k => k.Name, k => (object)k), (after.Auth?.Keys ?? []).ToDictionary(k => k.Name, k => (object)k));
        return parts.Count == 0 ? "no routing, provider or key changes" : string.Join("; ", parts);
    }

    /// <summary>What a reload switches off without being an error: said at Warning, so it is never silent.</summary>
    public static IEnumerable<string> Warnings(GatewayConfig after)
    {
        if (after.Admin?.DisabledReason is { } reason)
        {
            yield return $"the admin endpoints are DISABLED ({reason})";
        }
    }

    /// <summary>Changes a running listener cannot take: they are reported, and wait for a restart.</summary>
    public static IEnumerable<string> RestartOnly(GatewayConfig before, GatewayConfig after)
    {
        var (a, b) = (before.Server, after.Server);
        if (a.Host != b.Host || a.Port != b.Port || a.Tls != b.Tls)
        {
            yield return "server listen address or TLS";
        }
        if (a.DrainTimeout != b.DrainTimeout)
        {
            yield return "server.drain_timeout";
        }
        if (!Equals(a.Limits ?? ConnectionLimits.Default, b.Limits ?? ConnectionLimits.Default))
        {
            yield return "server.limits";
        }
        if (!Equals(before.CompletionLog, after.CompletionLog))
        {
            yield return "completion_log";
        }
        if (!Equals(before.Telemetry, after.Telemetry))
        {
            yield return "telemetry";
        }
        if (!Equals(before.State, after.State))
        {
            yield return "state";
        }
    }

    /// <summary>Config records compare by value (secrets in constant time): "changed" is their inequality.</summary>
    private static void Compare(List<string> parts, string what, Dictionary<string, object> before, Dictionary<string, object> after)
    {
        var added = after.Keys.Where(k => !before.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var removed = before.Keys.Where(k => !after.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var changed = after.Keys.Where(k => before.TryGetValue(k, out var old) && !Equals(old, after[k])).Order(StringComparer.Ordinal).ToList();
        if (added.Count + removed.Count + changed.Count == 0)
        {
            return;
        }
        var text = what;
        if (added.Count > 0)
        {
            text += " added " + string.Join(",", added);
        }
        if (removed.Count > 0)
        {
            text += " removed " + string.Join(",", removed);
        }
        if (changed.Count > 0)
        {
            text += " changed " + string.Join(",", changed);
        }
        parts.Add(text);
    }
}
