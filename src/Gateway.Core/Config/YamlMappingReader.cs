using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Gateway.Core.Config;

/// <summary>
/// Reads one YAML mapping of config.yaml, tracking the key path and line of everything it reports.
/// Every key must be taken by the caller; <see cref="ReportUnknownKeys"/> turns the rest into errors.
/// </summary>
internal sealed class YamlMappingReader
{
    private readonly YamlMappingNode _node;
    private readonly List<ConfigError> _errors;
    private readonly EnvironmentExpander _environment;
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

    public YamlMappingReader(YamlMappingNode node, string path, List<ConfigError> errors, EnvironmentExpander environment)
    {
        _node = node;
        Path = path;
        _errors = errors;
        _environment = environment;
    }

    public string Path { get; }

    public int Line => (int)_node.Start.Line;

    public IEnumerable<KeyValuePair<string, YamlNode>> Entries
    {
        get
        {
            foreach (var entry in _node.Children)
            {
                if (entry.Key is YamlScalarNode { Value: { } key })
                {
                    _taken.Add(key);
                    yield return new(key, entry.Value);
                }
            }
        }
    }

    /// <summary>
    /// Reports keys that differ only in case, naming both with their lines: such names (providers, strategies) are
    /// matched case-insensitively, so two of them could never both be reached.
    /// </summary>
    public void ReportCaseDuplicates(string what)
    {
        var seen = new Dictionary<string, (string Key, int Line)>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in _node.Children)
        {
            if (entry.Key is not YamlScalarNode { Value: { } key })
            {
                continue;
            }
            int line = (int)entry.Key.Start.Line;
            if (seen.TryGetValue(key, out var first))
            {
                _errors.Add(new ConfigError(Child(key), line,
                    $"{what} '{key}' (line {line}) and '{first.Key}' (line {first.Line}) differ only in case; {what} names are matched case-insensitively"));
            }
            else
            {
                seen[key] = (key, line);
            }
        }
    }

    public string Child(string key) => Path.Length == 0 ? key : Path + "." + key;

    public void Error(string key, YamlNode? node, string message) =>
        _errors.Add(new ConfigError(Child(key), node is null ? Line : (int)node.Start.Line, message));

    public YamlNode? Take(string key)
    {
        _taken.Add(key);
        return _node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;
    }

    public YamlMappingReader? Mapping(string key)
    {
        var node = Take(key);
        switch (node)
        {
            case null:
                return null;
            case YamlMappingNode mapping:
                return new YamlMappingReader(mapping, Child(key), _errors, _environment);
            case YamlScalarNode scalar when IsNull(scalar):
                return null;
            default:
                Error(key, node, "expected a mapping");
                return null;
        }
    }

    public YamlMappingReader Nested(string key, YamlMappingNode node) => new(node, Child(key), _errors, _environment);

    /// <summary>The raw scalar with ${VAR} expanded. An unset variable is reported through <paramref name="missingVariable"/>.</summary>
    public string? String(string key, out string? missingVariable, out YamlNode? node)
    {
        missingVariable = null;
        node = Take(key);
        return ScalarOf(key, node, out missingVariable);
    }

    public string? ScalarOf(string key, YamlNode? node, out string? missingVariable)
    {
        missingVariable = null;
        if (node is null)
        {
            return null;
        }
        if (node is not YamlScalarNode scalar)
        {
            Error(key, node, "expected a single value");
            return null;
        }
        if (IsNull(scalar))
        {
            return null;
        }
        return _environment.Expand(scalar.Value ?? "", out missingVariable);
    }

    /// <summary>A scalar where an unset variable is an error (everything except credentials).</summary>
    /// <summary>
    /// A word from a closed set (<c>mode: loadbalance</c> → <see cref="StrategyMode.LoadBalance"/>), or
    /// <paramref name="absent"/> when the key is not there. Any other word is an error, its message made by
    /// <paramref name="error"/> from the word, and the result is null. One reader for every "text → enum" key.
    /// </summary>
    public T? Choice<T>(string key, T absent, Func<string, string> error, params ReadOnlySpan<(string Word, T Value)> words)
        where T : struct
    {
        var text = String(key);
        if (text is null)
        {
            return absent;
        }
        foreach (var (word, value) in words)
        {
            if (word == text)
            {
                return value;
            }
        }
        Error(key, Take(key), error(text));
        return null;
    }

    public string? String(string key)
    {
        var value = String(key, out var missing, out var node);
        if (missing is not null)
        {
            Error(key, node, $"environment variable {missing} is not set");
        }
        return value;
    }

    public long? Integer(string key, long min, long max)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(key, Take(key), $"expected an integer from {min} to {max}, got '{text}'");
            return null;
        }
        return value;
    }

    /// <summary>A plain decimal number (prices, budgets): no exponent, no thousands separators.</summary>
    public decimal? Decimal(string key, decimal min, decimal max)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }
        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(key, Take(key), $"expected a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, got '{text}'");
            return null;
        }
        return value;
    }

    public bool? Boolean(string key)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }
        if (!bool.TryParse(text, out var value))
        {
            Error(key, Take(key), $"expected true or false, got '{text}'");
            return null;
        }
        return value;
    }

    public TimeSpan? Duration(string key, TimeSpan min, TimeSpan max)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }
        if (!Durations.TryParse(text, out var value))
        {
            Error(key, Take(key), $"expected a duration such as 500ms, 30s or 5m, got '{text}'");
            return null;
        }
        if (value < min || value > max)
        {
            Error(key, Take(key), $"must be between {Durations.Format(min)} and {Durations.Format(max)}");
            return null;
        }
        return value;
    }

    public void ReportUnknownKeys()
    {
        foreach (var entry in _node.Children)
        {
            var key = (entry.Key as YamlScalarNode)?.Value ?? "?";
            if (!_taken.Contains(key))
            {
                _errors.Add(new ConfigError(Child(key), (int)entry.Key.Start.Line, "unknown key"));
            }
        }
    }

    public static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null";
}
