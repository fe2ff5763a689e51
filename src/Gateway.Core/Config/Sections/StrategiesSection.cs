using YamlDotNet.RepresentationModel;
using static Gateway.Core.Config.ConfigChecks;

namespace Gateway.Core.Config.Sections;

/// <summary>strategies: mode, targets, fallback_on, rate_limited, on_interrupt, deadline.</summary>
internal static class StrategiesSection
{
    internal static List<StrategyConfig> ReadStrategies(YamlMappingReader root, List<ProviderConfig> providers)
    {
        var result = new List<StrategyConfig>();
        var strategies = root.Mapping("strategies");
        if (strategies is null)
        {
            return result;
        }
        strategies.ReportCaseDuplicates("strategy");
        foreach (var (name, node) in strategies.Entries)
        {
            if (result.Exists(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            if (!IsValidName(name))
            {
                strategies.Error(name, node, "invalid strategy name: letters, digits, '.', '_' and '-' only");
                continue;
            }
            if (node is not YamlMappingNode mapping)
            {
                strategies.Error(name, node, "expected a mapping with targets");
                continue;
            }
            if (ReadStrategy(strategies.Nested(name, mapping), name, providers) is { } strategy)
            {
                result.Add(strategy);
            }
        }
        strategies.ReportUnknownKeys();
        return result;
    }

    internal static StrategyConfig? ReadStrategy(YamlMappingReader s, string name, List<ProviderConfig> providers)
    {
        var mode = s.Choice("mode", StrategyMode.Fallback, text => $"unsupported mode '{text}' (supported: fallback, loadbalance)",
            ("fallback", StrategyMode.Fallback), ("loadbalance", StrategyMode.LoadBalance));
        var targets = ReadTargets(s, providers);
        var fallbackOn = ReadFallbackOn(s);
        var rateLimited = s.Choice("rate_limited", RateLimitedPolicy.Failover, text => $"expected failover or wait, got '{text}'",
            ("failover", RateLimitedPolicy.Failover), ("wait", RateLimitedPolicy.Wait));
        var onInterrupt = s.Choice("on_interrupt", InterruptPolicy.Error, text => $"expected error or continue, got '{text}'",
            ("error", InterruptPolicy.Error), ("continue", InterruptPolicy.Continue));
        var deadline = s.Duration("deadline", TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)) ?? StrategyConfig.DefaultDeadline;
        s.ReportUnknownKeys();
        if (targets.Count == 0 || mode is null || fallbackOn is null || rateLimited is null || onInterrupt is null)
        {
            return null;
        }
        return new StrategyConfig(name, mode.Value, targets, fallbackOn, rateLimited.Value, onInterrupt.Value, deadline);
    }

    private const int MaxTargets = 32;

    internal static List<StrategyTarget> ReadTargets(YamlMappingReader s, List<ProviderConfig> providers)
    {
        var targets = new List<StrategyTarget>();
        var targetsNode = s.Take("targets");
        if (targetsNode is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            s.Error("targets", targetsNode, "required: a non-empty list of \"provider/model\" or { target: provider/model, weight: N }");
            return targets;
        }
        if (sequence.Children.Count > MaxTargets)
        {
            s.Error("targets", targetsNode, $"at most {MaxTargets} targets");
            return targets;
        }
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var key = $"targets[{i}]";
            var node = sequence.Children[i];
            string? text;
            int weight = 1;
            if (node is YamlMappingNode mapping)
            {
                var entry = s.Nested(key, mapping);
                text = entry.String("target");
                if (text is null)
                {
                    entry.Error("target", null, "required: \"provider/model\"");
                }
                weight = (int)(entry.Integer("weight", 1, 1_000_000) ?? 1);
                entry.ReportUnknownKeys();
                if (text is null)
                {
                    continue;
                }
            }
            else
            {
                text = s.ScalarOf(key, node, out var missing);
                if (missing is not null || text is null)
                {
                    s.Error(key, node, "expected \"provider/model\"");
                    continue;
                }
            }
            int slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == text.Length - 1)
            {
                s.Error(key, node, $"'{text}' is not \"provider/model\"");
                continue;
            }
            var provider = text[..slash];
            if (!providers.Exists(p => string.Equals(p.Name, provider, StringComparison.OrdinalIgnoreCase)))
            {
                s.Error(key, node, $"unknown provider '{provider}'");
                continue;
            }
            targets.Add(new StrategyTarget(provider, text[(slash + 1)..], weight));
        }
        return targets;
    }

    internal static FallbackPolicy? ReadFallbackOn(YamlMappingReader s)
    {
        var node = s.Take("fallback_on");
        if (node is null)
        {
            return FallbackPolicy.Default;
        }
        if (node is not YamlSequenceNode sequence)
        {
            s.Error("fallback_on", node, "expected a list such as [connect, timeout, 429, 5xx]");
            return null;
        }
        var classes = FailureClasses.None;
        var statuses = new List<int>();
        var codes = new List<string>();
        bool valid = true;
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var key = $"fallback_on[{i}]";
            var text = s.ScalarOf(key, sequence.Children[i], out _);
            switch (text)
            {
                case "connect":
                    classes |= FailureClasses.Connect;
                    break;
                case "timeout":
                    classes |= FailureClasses.Timeout;
                    break;
                case "429":
                    classes |= FailureClasses.RateLimited;
                    break;
                case "5xx":
                    classes |= FailureClasses.ServerError;
                    break;
                case not null when int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status):
                    if (status is < 400 or > 599)
                    {
                        s.Error(key, sequence.Children[i], $"status {status} is not an error status (400-599)");
                        valid = false;
                    }
                    else
                    {
                        statuses.Add(status);
                    }
                    break;
                case not null when IsErrorCode(text):
                    codes.Add(text);
                    break;
                default:
                    s.Error(key, sequence.Children[i], $"expected connect, timeout, 429, 5xx, a status (e.g. 404) or an error code (e.g. context_length_exceeded), got '{text}'");
                    valid = false;
                    break;
            }
        }
        return valid ? new FallbackPolicy(classes, statuses, codes) : null;
    }

    internal static bool IsErrorCode(string text)
    {
        if (text.Length is 0 or > 64)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return char.IsAsciiLetterLower(text[0]);
    }

    /// <summary>
    /// aliases: bare model names → "provider/model" or a strategy name, for clients that send fixed names (Claude
    /// Code's claude-sonnet-4-5 and its small/fast model). Each must name a configured provider or strategy, and not
    /// be a strategy's own name.
    /// </summary>
    internal static List<KeyValuePair<string, string>> ReadAliases(YamlMappingReader? aliases, List<ProviderConfig> providers, List<StrategyConfig> strategies)
    {
        var result = new List<KeyValuePair<string, string>>();
        if (aliases is null)
        {
            return result;
        }
        foreach (var (name, node) in aliases.Entries)
        {
            var target = aliases.ScalarOf(name, node, out _);
            if (name.Contains('/') || name.Length is 0 or > 256)
            {
                aliases.Error(name, node, "an alias is a bare model name (no '/')");
                continue;
            }
            if (strategies.Exists(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                aliases.Error(name, node, "is already a strategy's name");
                continue;
            }
            int slash = target?.IndexOf('/', StringComparison.Ordinal) ?? -1;
            bool known = target is not null && (slash > 0
                ? providers.Exists(p => string.Equals(p.Name, target[..slash], StringComparison.OrdinalIgnoreCase)) && slash < target.Length - 1
                : strategies.Exists(s => string.Equals(s.Name, target, StringComparison.OrdinalIgnoreCase)));
            if (!known)
            {
                aliases.Error(name, node, $"'{target}' is neither a configured provider's \"provider/model\" nor a strategy");
                continue;
            }
            result.Add(new(name, target!));
        }
        return result;
    }
}
