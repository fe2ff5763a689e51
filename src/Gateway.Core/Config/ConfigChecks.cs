using YamlDotNet.RepresentationModel;

namespace Gateway.Core.Config;

/// <summary>The checks and list reader every config section shares: names, header tokens and values, string lists.</summary>
internal static class ConfigChecks
{
    internal static List<string>? ReadStringList(YamlMappingReader reader, string key, string expected)
    {
        var node = reader.Take(key);
        if (node is null)
        {
            return null;
        }
        if (node is not YamlSequenceNode sequence)
        {
            reader.Error(key, node, "expected " + expected);
            return null;
        }
        var result = new List<string>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var text = reader.ScalarOf($"{key}[{i}]", sequence.Children[i], out var missing);
            if (missing is not null || string.IsNullOrWhiteSpace(text))
            {
                reader.Error($"{key}[{i}]", sequence.Children[i], "expected " + expected);
                continue;
            }
            result.Add(text);
        }
        return result;
    }

    internal static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 64)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    internal static bool IsToken(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }
        return true;
    }

    internal static bool IsHeaderSafe(string value)
    {
        foreach (var c in value)
        {
            if (c < 0x20 && c != '\t' || c == 0x7f)
            {
                return false;
            }
        }
        return true;
    }
}
