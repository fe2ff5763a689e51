using YamlDotNet.RepresentationModel;
using static Gateway.Core.Config.ConfigChecks;

namespace Gateway.Core.Config.Sections;

/// <summary>Who may call and what passes: gateway keys (auth), the admin key, client header rules.</summary>
internal static class AccessSection
{
    internal static AuthConfig? ReadAuth(YamlMappingReader? auth)
    {
        if (auth is null)
        {
            return null;
        }
        var keys = new List<ClientKeyConfig>();
        var node = auth.Take("keys");
        if (node is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            auth.Error("keys", node, "required: a list of { name, key } (remove auth for an open gateway)");
            auth.ReportUnknownKeys();
            return null;
        }
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var values = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var path = $"keys[{i}]";
            if (sequence.Children[i] is not YamlMappingNode mapping)
            {
                auth.Error(path, sequence.Children[i], "expected { name, key, models, rpm, tpm, max_concurrent, budget }");
                continue;
            }
            var k = auth.Nested(path, mapping);
            var name = k.String("name");
            if (name is null || !IsValidName(name))
            {
                k.Error("name", k.Take("name"), "required: letters, digits, '.', '_' and '-' (it appears in logs)");
            }
            else if (!names.Add(name))
            {
                k.Error("name", k.Take("name"), $"duplicate key name '{name}'");
            }
            var keyText = k.String("key", out var missing, out var keyNode);
            Secret? key = null;
            string? disabled = null;
            if (missing is not null)
            {
                disabled = $"key: environment variable {missing} is not set";
            }
            else if (keyText is null)
            {
                k.Error("key", null, "required");
            }
            else
            {
                keyText = keyText.Trim();
                if (keyText.Length is < 8 or > 256 || !IsHeaderSafe(keyText) || keyText.Contains(' ', StringComparison.Ordinal))
                {
                    k.Error("key", keyNode, "must be 8 to 256 characters without spaces or control characters");
                }
                else if (!values.Add(keyText))
                {
                    k.Error("key", keyNode, "the same key is configured twice");
                }
                else
                {
                    key = new Secret(keyText);
                }
            }
            var models = ReadStringList(k, "models", "a list of model globs such as \"openai/*\"");
            var rpm = (int?)k.Integer("rpm", 1, 10_000_000);
            var tpm = k.Integer("tpm", 1, long.MaxValue / 2);
            var concurrent = (int?)k.Integer("max_concurrent", 1, 1_000_000);
            var budget = ReadBudget(k);
            k.ReportUnknownKeys();
            if (name is not null && (key is not null || disabled is not null))
            {
                keys.Add(new ClientKeyConfig(name, key, models, rpm, tpm, concurrent, disabled, budget));
            }
        }
        auth.ReportUnknownKeys();
        return new AuthConfig(keys);
    }

    /// <summary><c>budget: { usd: 50, period: 1d }</c> (periods 1h, 1d, 7d, 30d, month).</summary>
    private static BudgetConfig? ReadBudget(YamlMappingReader key)
    {
        var budget = key.Mapping("budget");
        if (budget is null)
        {
            return null;
        }
        var usd = budget.Decimal("usd", 0, 1_000_000_000m);
        var period = budget.Choice<Spend.BudgetPeriod>("period", (Spend.BudgetPeriod)(-1),
            word => $"'{word}' is not a period: 1h, 1d, 7d, 30d or month",
            ("1h", Spend.BudgetPeriod.Hour), ("1d", Spend.BudgetPeriod.Day), ("7d", Spend.BudgetPeriod.Week),
            ("30d", Spend.BudgetPeriod.ThirtyDays), ("month", Spend.BudgetPeriod.Month));
        if (usd is null)
        {
            budget.Error("usd", null, "required: the most the key may spend per period, in USD");
        }
        if (period == (Spend.BudgetPeriod)(-1))
        {
            budget.Error("period", null, "required: 1h, 1d, 7d, 30d or month");
            period = null;
        }
        budget.ReportUnknownKeys();
        return usd is { } limit && period is { } p ? new BudgetConfig(limit, p) : null;
    }

    internal static AdminConfig? ReadAdmin(YamlMappingReader? admin)
    {
        if (admin is null)
        {
            return null;
        }
        var key = admin.String("key", out var missing, out var node);
        admin.ReportUnknownKeys();
        if (missing is not null)
        {
            return new AdminConfig(null, $"key: environment variable {missing} is not set");
        }
        if (key is null || key.Trim().Length < 16)
        {
            admin.Error("key", node, "required: at least 16 characters (the admin key can reload the config)");
            return null;
        }
        return new AdminConfig(new Secret(key.Trim()), null);
    }

    internal static readonly HashSet<string> s_neverForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "authorization", "x-api-key", "api-key", "cookie", "proxy-authorization", "host", "connection", "content-length",
        "transfer-encoding", "te", "upgrade", "keep-alive", "x-goog-api-key",
    };

    internal static HeaderRulesConfig? ReadHeaderRules(YamlMappingReader? headers)
    {
        if (headers is null)
        {
            return null;
        }
        var drop = ReadHeaderNames(headers, "drop_from_client", forwarding: false);
        var forward = ReadHeaderNames(headers, "forward_from_client", forwarding: true);
        headers.ReportUnknownKeys();
        return new HeaderRulesConfig(drop, forward);
    }

    /// <summary>A list of header names, each error under its own key path and line.</summary>
    internal static List<string> ReadHeaderNames(YamlMappingReader headers, string key, bool forwarding)
    {
        var node = headers.Take(key);
        var names = new List<string>();
        if (node is null)
        {
            return names;
        }
        if (node is not YamlSequenceNode sequence)
        {
            headers.Error(key, node, "expected a list of header names");
            return names;
        }
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var item = $"{key}[{i}]";
            var name = headers.ScalarOf(item, sequence.Children[i], out _);
            if (name is null || !IsToken(name))
            {
                headers.Error(item, sequence.Children[i], $"'{name}' is not a header name");
            }
            else if (forwarding && s_neverForwarded.Contains(name))
            {
                headers.Error(item, sequence.Children[i], $"'{name}' can never be forwarded (a credential or hop-by-hop header)");
            }
            else
            {
                names.Add(name);
            }
        }
        return names;
    }
}
