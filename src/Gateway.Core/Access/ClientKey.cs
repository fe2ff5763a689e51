using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Config;

namespace Gateway.Core.Access;

/// <summary>A gateway key at run time: its name, the SHA-256 of its value (the value itself is not kept), its limits.</summary>
internal sealed class ClientKey
{
    public ClientKey(ClientKeyConfig config)
    {
        Config = config;
        Name = config.Name;
        Hash = config.Key is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(config.Key.Reveal()));
    }

    public string Name { get; }

    public ClientKeyConfig Config { get; }

    /// <summary>Null for a disabled key (its variable is unset): it matches nothing.</summary>
    internal byte[]? Hash { get; }

    public bool MayUse(ReadOnlySpan<char> model) => ModelGlob.AnyMatches(Config.Models, model);
}

/// <summary>
/// The configured gateway keys. A presented key is hashed once and compared with every configured hash in
/// constant time (no early exit), so neither the comparison nor the position of a match leaks through timing.
/// </summary>
internal sealed class KeyTable
{
    private const int MaxKeyLength = 256;
    private readonly ClientKey[] _keys;

    public KeyTable(AuthConfig? auth)
    {
        IsOpen = auth is null;
        _keys = auth is null ? [] : auth.Keys.Select(k => new ClientKey(k)).ToArray();
    }

    /// <summary>No auth section: every caller is let in (with a start-up warning).</summary>
    public bool IsOpen { get; }

    public IReadOnlyList<ClientKey> Keys => _keys;

    public ClientKey? Find(ReadOnlySpan<char> presented)
    {
        if (presented.IsEmpty || presented.Length > MaxKeyLength)
        {
            return null;
        }
        Span<byte> utf8 = stackalloc byte[MaxKeyLength * 3];
        int length = Encoding.UTF8.GetBytes(presented, utf8);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(utf8[..length], hash);
        ClientKey? found = null;
        foreach (var key in _keys)
        {
            if (key.Hash is not null && CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                found = key;
            }
        }
        return found;
    }
}
