using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Proxy;

namespace Gateway.Core.Providers.Translation;

/// <summary>
/// What every request translation shares: the parameter policy (a parameter the provider cannot honour is refused
/// or, with unsupported_params: drop, dropped and named), data URLs, tool-call ids made safe for strict providers.
/// Request translation runs once per attempt over the already-bounded body; it may allocate (a pooled
/// <see cref="JsonDocument"/>, a writer), unlike the stream translation.
/// </summary>
internal sealed class RequestTranslation
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly UnsupportedParams _policy;
    private readonly string _type;
    private List<string>? _dropped;

    public RequestTranslation(string type, UnsupportedParams policy)
    {
        _type = type;
        _policy = policy;
    }

    /// <summary>The first refusal met; translation stops there.</summary>
    public TranslationRefusal? Refusal { get; private set; }

    public string? Dropped => _dropped is null ? null : string.Join(",", _dropped);

    /// <summary>
    /// A parameter the type does not map itself, by the rules every translating type shares: one that changes what
    /// the answer is (n &gt; 1, logprobs, audio, web search, legacy functions) is <see cref="Unsupported"/>; anything
    /// else (seed where unmapped, logit_bias, service_tier, store, metadata, unknown names) is a hint, dropped.
    /// </summary>
    public void Other(JsonProperty property)
    {
        var value = property.Value;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        switch (property.Name)
        {
            case "n":
                if (value.ValueKind == JsonValueKind.Number && value.GetDouble() > 1)
                {
                    Unsupported("n", "one answer per request");
                }
                break;
            case "logprobs":
                if (value.ValueKind == JsonValueKind.True)
                {
                    Unsupported("logprobs", "no log probabilities");
                }
                break;
            case "top_logprobs":
                Unsupported("top_logprobs", "no log probabilities");
                break;
            case "audio":
                Unsupported("audio", "no audio output");
                break;
            case "modalities":
                if (value.GetRawText().Contains("audio", StringComparison.Ordinal))
                {
                    Unsupported("modalities", "no audio output");
                }
                break;
            case "web_search_options":
            case "functions":
            case "function_call":
                Unsupported(property.Name, "not translated");
                break;
            default:
                Drop(property.Name);
                break;
        }
    }

    /// <summary>A parameter that changes what the answer is (n > 1, logprobs, audio): refused, or dropped when the provider says so.</summary>
    public void Unsupported(string param, string why)
    {
        if (_policy == UnsupportedParams.Drop)
        {
            Drop(param);
            return;
        }
        Refusal ??= new TranslationRefusal(
            GatewayError.UnsupportedParameter, $"Provider type '{_type}' does not support '{param}' ({why}); the provider's unsupported_params: drop would leave it out.", param);
    }

    /// <summary>A value the provider's format cannot take: always refused (dropping it would change the request's meaning).</summary>
    public void Invalid(string param, string why) =>
        Refusal ??= new TranslationRefusal(GatewayError.InvalidParameter, $"'{param}' {why} (provider type '{_type}').", param);

    /// <summary>A hint the provider has no equivalent for (seed, logit_bias...): left out, and named in the response header.</summary>
    public void Drop(string param)
    {
        _dropped ??= [];
        if (!_dropped.Contains(param))
        {
            _dropped.Add(param);
        }
    }

    public static TranslatedRequest UnsupportedEndpoint(string type, string path) =>
        TranslatedRequest.Refuse(GatewayError.UnsupportedEndpoint, $"Provider type '{type}' does not offer /v1/{path}.");

    /// <summary>A base64 data URL: its media type and data (no copy of the data).</summary>
    public static bool TryParseDataUrl(string url, out string mediaType, out string data)
    {
        mediaType = data = "";
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        int comma = url.IndexOf(',', StringComparison.Ordinal);
        int marker = url.IndexOf(";base64", StringComparison.OrdinalIgnoreCase);
        if (comma < 0 || marker < 0 || marker > comma)
        {
            return false;
        }
        mediaType = url[5..marker].ToLowerInvariant();
        data = url[(comma + 1)..];
        return true;
    }

    /// <summary>
    /// Tool-call ids as strict providers accept them (letters, digits, '_' and '-'): an id minted elsewhere
    /// (<c>functions.Bash:0</c>) gets its other characters replaced and a short hash of the original appended, the
    /// same on the tool call and on its result, so both still match and two ids never collapse into one.
    /// </summary>
    public static string SafeToolId(string id)
    {
        bool safe = id.Length > 0;
        foreach (char c in id)
        {
            safe &= char.IsAsciiLetterOrDigit(c) || c is '_' or '-';
        }
        if (safe)
        {
            return id;
        }
        var text = new StringBuilder(id.Length + 9);
        foreach (char c in id)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_');
        }
        uint hash = 2166136261;
        foreach (char c in id)
        {
            hash = (hash ^ c) * 16777619;
        }
        return text.Append('_').Append(hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).ToString();
    }

    /// <summary>
    /// An end-user id as a provider that refuses personal data (e-mails, phone numbers) accepts it: an opaque id
    /// (letters, digits, '_' and '-', not all digits) as it is, anything else as a hash.
    /// </summary>
    public static string SafeUserId(string user)
    {
        bool opaque = user.Length is > 0 and <= 64;
        bool digitsOnly = true;
        foreach (char c in user)
        {
            opaque &= char.IsAsciiLetterOrDigit(c) || c is '_' or '-';
            digitsOnly &= char.IsAsciiDigit(c) || c is '-' or '+';
        }
        return opaque && !digitsOnly ? user : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)))[..32];
    }

    /// <summary>The "type" of a JSON object (a content part, a tool), or null.</summary>
    public static string? TypeOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;

    /// <summary>A message's content as plain text: a string, or the text parts of an array joined.</summary>
    public static string TextOf(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return "";
        }
        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            {
                text.Append(t.GetString());
            }
        }
        return text.ToString();
    }
}
