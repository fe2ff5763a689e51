using Gateway.Core.Config;

namespace Gateway.Server.Hosting;

/// <summary>The one-line summary of a reload: providers, strategies and keys added, removed or changed (keys by name only).</summary>
internal static class ConfigDiff
{
    public static string Describe(GatewayConfig before, GatewayConfig after)
    {
        var parts = new List<string>();
        Compare(parts, "providers", before.Providers.ToDictionary(p => p.Name, Signature), after.Providers.ToDictionary(p => p.Name, Signature));
        Compare(parts, "strategies", before.Strategies.ToDictionary(s => s.Name, Signature), after.Strategies.ToDictionary(s => s.Name, Signature));
        Compare(parts, "keys", (before.Auth?.Keys ?? []).ToDictionary(k => k.Name, Signature), (after.Auth?.Keys ?? []).ToDictionary(k => k.Name, Signature));
        return parts.Count == 0 ? "no routing, provider or key changes" : string.Join("; ", parts);
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
        if (!Equals(before.CompletionLog, after.CompletionLog))
        {
            yield return "completion_log";
        }
        if (!Equals(before.Telemetry, after.Telemetry))
        {
            yield return "telemetry";
        }
    }

    private static void Compare(List<string> parts, string what, Dictionary<string, string> before, Dictionary<string, string> after)
    {
        var added = after.Keys.Where(k => !before.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var removed = before.Keys.Where(k => !after.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var changed = after.Keys.Where(k => before.TryGetValue(k, out var old) && old != after[k]).Order(StringComparer.Ordinal).ToList();
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

    // Secrets enter a signature only as a hash, so "changed" is detected without a key ever reaching a string that could be logged.
    private static string Signature(ProviderConfig p) => string.Join("|",
        p.Type, p.BaseUrl, Hash(p.ApiKey), string.Join(",", p.Headers.Select(h => h.Key + "=" + Hash(h.Value))), p.Timeout, p.ConnectTimeout,
        p.Enabled, p.DisabledReason, string.Join(",", p.Models), p.DiscoverModels, p.Resilience);

    private static string Signature(StrategyConfig s) => string.Join("|",
        s.Mode, string.Join(",", s.Targets.Select(t => t + "*" + t.Weight)), s.FallbackOn.Classes, string.Join(",", s.FallbackOn.Statuses),
        string.Join(",", s.FallbackOn.ErrorCodes), s.RateLimited, s.OnInterrupt, s.Deadline);

    private static string Signature(ClientKeyConfig k) => string.Join("|",
        Hash(k.Key), k.Models is null ? "*" : string.Join(",", k.Models), k.Rpm, k.Tpm, k.MaxConcurrent, k.DisabledReason);

    private static string Hash(Secret? secret) =>
        secret is null ? "-" : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret.Reveal())));
}
