using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Providers.Translation;

namespace Gateway.Core.Providers.Gemini;

/// <summary>
/// /v1/embeddings on Gemini: the input (a string or a list of strings) as one <c>batchEmbedContents</c> request, and
/// the answer as OpenAI's list, floats or base64 (little-endian float32, what the OpenAI SDKs ask for by default).
/// </summary>
internal static class GeminiEmbeddings
{
    public static TranslatedRequest Build(ReadOnlySequence<byte> body, string model, NativeOptions options, long created)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var policy = new RequestTranslation("gemini", options.UnsupportedParams);
        var inputs = new List<JsonElement>();
        bool base64 = false;
        JsonElement dimensions = default;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "model":
                    break;
                case "input":
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        inputs.Add(value);
                    }
                    else if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                    {
                        inputs.AddRange(value.EnumerateArray());
                    }
                    else
                    {
                        policy.Invalid("input", "must be a string or a list of strings (token arrays are not translated)");
                    }
                    break;
                case "encoding_format":
                    base64 = value.ValueKind == JsonValueKind.String && value.GetString() == "base64";
                    break;
                case "dimensions":
                    dimensions = value;
                    break;
                default:
                    if (value.ValueKind != JsonValueKind.Null)
                    {
                        policy.Drop(property.Name);
                    }
                    break;
            }
        }
        if (inputs.Count == 0)
        {
            policy.Invalid("input", "must not be empty");
        }
        if (policy.Refusal is { } refusal)
        {
            return TranslatedRequest.Refuse(refusal.Error, refusal.Message, refusal.Param);
        }
        var output = new PooledBufferWriter((int)Math.Min(body.Length + 256, 1 << 20));
        using (var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartArray("requests");
            foreach (var input in inputs)
            {
                json.WriteStartObject();
                json.WriteString("model", "models/" + model);
                json.WriteStartObject("content");
                json.WriteStartArray("parts");
                json.WriteStartObject();
                json.WritePropertyName("text");
                input.WriteTo(json);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
                if (dimensions.ValueKind == JsonValueKind.Number)
                {
                    json.WritePropertyName("outputDimensionality");
                    dimensions.WriteTo(json);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return new TranslatedRequest(output, new RequestFacts(false, policy.Dropped, created, new EmbeddingsFacts(model, base64)));
    }

    /// <summary>Gemini's <c>{"embeddings":[{"values":[...]}]}</c> as OpenAI's embedding list.</summary>
    internal sealed class Answer(EmbeddingsFacts facts) : BodyTranslator
    {
        protected override bool TranslateDocument(JsonElement root, IBufferWriter<byte> output)
        {
            if (!root.TryGetProperty("embeddings", out var embeddings) || embeddings.ValueKind != JsonValueKind.Array)
            {
                return false;
            }
            using var json = new Utf8JsonWriter(output, RequestTranslation.WriterOptions);
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            int index = 0;
            var floats = new List<float>();
            foreach (var embedding in embeddings.EnumerateArray())
            {
                if (!embedding.TryGetProperty("values", out var values) || values.ValueKind != JsonValueKind.Array)
                {
                    return false;
                }
                json.WriteStartObject();
                json.WriteString("object", "embedding");
                json.WriteNumber("index", index++);
                if (facts.Base64)
                {
                    floats.Clear();
                    foreach (var value in values.EnumerateArray())
                    {
                        floats.Add(value.GetSingle());
                    }
                    json.WriteBase64String("embedding", MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(floats)));
                }
                else
                {
                    json.WritePropertyName("embedding");
                    values.WriteTo(json);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("model", facts.Model);
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", 0);
            json.WriteNumber("total_tokens", 0);
            json.WriteEndObject();
            json.WriteEndObject();
            return true;
        }
    }
}
