namespace Gateway.Core.Config;

/// <summary>
/// A credential from config. It never prints itself: <see cref="ToString"/> is masked so that a secret cannot
/// reach a log line, an exception message or a config dump by accident. Only <see cref="Reveal"/> yields it.
/// </summary>
public sealed class Secret
{
    private readonly string _value;

    public Secret(string value) => _value = value;

    public string Reveal() => _value;

    public override string ToString() => "***";
}
