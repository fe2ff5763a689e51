using System.Security.Cryptography;
using System.Text;

namespace Gateway.Core.Config;

/// <summary>
/// A credential from config. It never prints itself: <see cref="ToString"/> is masked so that a secret cannot
/// reach a log line, an exception message or a config dump by accident. Only <see cref="Reveal"/> yields it.
/// Two secrets are equal when their values are, compared in constant time (through their SHA-256), so config
/// records that hold secrets compare by value without the comparison leaking the value through timing.
/// </summary>
internal sealed class Secret : IEquatable<Secret>
{
    private readonly string _value;
    private readonly byte[] _hash;

    public Secret(string value)
    {
        _value = value;
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(value));
    }

    public string Reveal() => _value;

    public bool Equals(Secret? other) => other is not null && CryptographicOperations.FixedTimeEquals(_hash, other._hash);

    public override bool Equals(object? obj) => Equals(obj as Secret);

    // Equal secrets must hash alike; nothing of the value (not even of its hash) goes into the hash code.
    public override int GetHashCode() => 0;

    public override string ToString() => "***";
}
