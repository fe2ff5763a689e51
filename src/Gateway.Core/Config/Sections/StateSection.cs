namespace Gateway.Core.Config.Sections;

/// <summary><c>state</c>: where replicas share limits, budgets and spend (Redis), or nothing (per process).</summary>
internal static class StateSection
{
    /// <summary>Enough that a replica serving thousands of requests a second for one key asks Redis for few of them.</summary>
    internal const int DefaultBorrowMax = 64;

    internal static StateConfig? ReadState(YamlMappingReader? state)
    {
        if (state is null)
        {
            return null;
        }
        var backendText = state.String("backend");
        bool? backend = backendText switch
        {
            "redis" => true,
            "local" => false,
            _ => null,
        };
        var url = state.String("url", out var missing, out var urlNode);
        var timeout = state.Duration("timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)) ?? TimeSpan.FromMilliseconds(5);
        var prefix = state.String("key_prefix") ?? "gw:";
        var flush = state.Duration("flush_interval", TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10)) ?? TimeSpan.FromMilliseconds(100);
        var leaseTtl = state.Duration("lease_ttl", TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10)) ?? TimeSpan.FromSeconds(30);
        var borrowMax = (int)(state.Integer("borrow_max", 0, 1000) ?? DefaultBorrowMax);
        if (prefix.Length > 64 || !prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is ':' or '_' or '-' or '.'))
        {
            state.Error("key_prefix", state.Take("key_prefix"), "up to 64 letters, digits, ':', '_', '-' and '.'");
        }
        if (backend is null)
        {
            state.Error("backend", state.Take("backend"), backendText is null
                ? "required: redis (or local, the same as no state section)"
                : $"'{backendText}' is not a state backend: redis or local");
        }
        StateConfig? config = null;
        if (backend == true)
        {
            if (missing is not null)
            {
                state.Error("url", urlNode, $"environment variable {missing} is not set");
            }
            else if (url is null)
            {
                state.Error("url", null, "required: redis://host:6379 (rediss:// for TLS; redis://:${PASSWORD}@host:6379/0)");
            }
            else if (Parse(url) is { } parsed)
            {
                config = parsed with { Timeout = timeout, KeyPrefix = prefix, FlushInterval = flush, LeaseTtl = leaseTtl, BorrowMax = borrowMax };
            }
            else
            {
                // Never echo the value: it may hold the password.
                state.Error("url", urlNode, "expected redis://[user:password@]host[:port][/db] or rediss://...");
            }
        }
        state.ReportUnknownKeys();
        return config;
    }

    /// <summary>The URL's parts; the password kept as a secret. Null when it is not a Redis URL.</summary>
    internal static StateConfig? Parse(string url)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || uri.Host.Length == 0
            || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return null;
        }
        int? database = null;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var db) || db > 15)
            {
                return null;
            }
            database = db;
        }
        string? user = null;
        Secret? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var info = uri.UserInfo.Split(':', 2);
            user = info[0].Length == 0 ? null : Uri.UnescapeDataString(info[0]);
            password = info.Length == 2 && info[1].Length > 0 ? new Secret(Uri.UnescapeDataString(info[1])) : null;
        }
        return new StateConfig(uri.Host, uri.IsDefaultPort ? 6379 : uri.Port, uri.Scheme == "rediss", user, password, database,
            TimeSpan.FromMilliseconds(5), "gw:", TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30), DefaultBorrowMax);
    }
}
