using System.Buffers;
using System.Collections.Frozen;
using System.Text.Json;
using Gateway.Core.Routing;

namespace Gateway.Core.Models;

/// <summary>A model one provider reported (or config declared), without the provider prefix.</summary>
internal readonly record struct DiscoveredModel(string Id, long Created);

/// <summary>
/// One immutable model list: every model of every enabled provider as "provider/model", plus one entry per
/// strategy. The JSON is serialized once, when the catalog is built, so serving GET /v1/models is a copy of bytes.
/// </summary>
internal sealed class ModelCatalog
{
    private readonly FrozenDictionary<string, byte[]> _entries;
    private readonly string[] _ids;

    private ModelCatalog(byte[] listJson, FrozenDictionary<string, byte[]> entries, string[] ids, long revision)
    {
        ListJson = listJson;
        _entries = entries;
        _ids = ids;
        Revision = revision;
    }

    /// <summary>The OpenAI list document: {"object":"list","data":[...]}.</summary>
    public byte[] ListJson { get; }

    public long Revision { get; }

    public int Count => _entries.Count;

    /// <summary>The JSON of one model, by its full id ("openai/gpt-4o", "smart").</summary>
    public bool TryGetEntry(string id, out byte[] json) => _entries.TryGetValue(id, out json!);

    public bool Contains(string id) => _entries.ContainsKey(id);

    /// <summary>The list document with only the models a caller may use (keys with a models allow-list).</summary>
    public byte[] ListJsonFor(Access.ClientKey caller)
    {
        var list = new ArrayBufferWriter<byte>(ListJson.Length);
        list.Write("{\"object\":\"list\",\"data\":["u8);
        bool first = true;
        foreach (var id in _ids)
        {
            if (caller.MayUse(id))
            {
                if (!first)
                {
                    list.Write(","u8);
                }
                list.Write(_entries[id]);
                first = false;
            }
        }
        list.Write("]}"u8);
        return list.WrittenSpan.ToArray();
    }

    /// <param name="discovered">Per enabled provider name: the models it last reported successfully.</param>
    public static ModelCatalog Build(GatewaySnapshot snapshot, IReadOnlyDictionary<string, IReadOnlyList<DiscoveredModel>> discovered, long revision)
    {
        var entries = new SortedDictionary<string, (long Created, string Owner)>(StringComparer.Ordinal);
        foreach (var provider in snapshot.Providers)
        {
            foreach (var model in provider.Config.Models)
            {
                entries[provider.Name + "/" + model] = (0, provider.Name);
            }
            if (discovered.TryGetValue(provider.Name, out var models))
            {
                foreach (var model in models)
                {
                    entries[provider.Name + "/" + model.Id] = (model.Created, provider.Name);
                }
            }
        }
        foreach (var strategy in snapshot.Config.Strategies)
        {
            entries[strategy.Name] = (0, "gateway");
        }

        var single = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var list = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(list))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            foreach (var (id, (created, owner)) in entries)
            {
                WriteEntry(json, id, created, owner);
                var one = new ArrayBufferWriter<byte>();
                using (var entry = new Utf8JsonWriter(one))
                {
                    WriteEntry(entry, id, created, owner);
                }
                single[id] = one.WrittenSpan.ToArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return new ModelCatalog(list.WrittenSpan.ToArray(), single.ToFrozenDictionary(StringComparer.Ordinal), [.. entries.Keys], revision);
    }

    private static void WriteEntry(Utf8JsonWriter json, string id, long created, string owner)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", "model");
        json.WriteNumber("created", created);
        json.WriteString("owned_by", owner);
        json.WriteEndObject();
    }
}
