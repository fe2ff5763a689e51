namespace Gateway.Core.Config;

/// <summary>One problem in config.yaml, located by key path and line so an operator can find it at once.</summary>
internal sealed record ConfigError(string Path, int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"line {Line}: {Path}: {Message}" : $"{Path}: {Message}";
}

/// <summary>Thrown at start-up (never on the request path) with every problem found, not only the first.</summary>
internal sealed class ConfigException : Exception
{
    public ConfigException(string source, IReadOnlyList<ConfigError> errors)
        : base(Format(source, errors)) => Errors = errors;

    public ConfigException() : this("config", []) { }

    public ConfigException(string message) : base(message) => Errors = [];

    public ConfigException(string message, Exception innerException) : base(message, innerException) => Errors = [];

    public IReadOnlyList<ConfigError> Errors { get; }

    private static string Format(string source, IReadOnlyList<ConfigError> errors)
    {
        var lines = new System.Text.StringBuilder();
        lines.Append(source).Append(": ").Append(errors.Count).Append(errors.Count == 1 ? " error" : " errors");
        foreach (var error in errors)
        {
            lines.Append('\n').Append("  ").Append(error);
        }
        return lines.ToString();
    }
}
