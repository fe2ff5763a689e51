using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Gateway.Core.Config;
using Gateway.Core.Proxy;
using Gateway.Server.Hosting;
using Gateway.Server.Http;

namespace Gateway.Server.Handlers;

/// <summary>
/// POST /admin/reload and GET /admin/config, only when config has admin.key (otherwise these paths do not exist:
/// 404). The key is checked in constant time; the config is shown with every secret masked.
/// </summary>
internal sealed class AdminHandler
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new MaskedSecret(), new RegexAsPattern(), new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    private readonly ConfigReloader _reloader;

    public AdminHandler(ConfigReloader reloader) => _reloader = reloader;

    public async Task ReloadAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context))
        {
            return;
        }
        var errors = await _reloader.ReloadAsync("POST /admin/reload");
        var revision = GatewayRequest.Of(context).Snapshot.Revision;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(errors is null
            ? JsonSerializer.Serialize(new { reloaded = true }, s_json)
            : JsonSerializer.Serialize(new { reloaded = false, errors = errors.Split('\n'), serving_revision = revision }, s_json));
    }

    public static async Task ConfigAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context))
        {
            return;
        }
        // The live config: what the snapshot current now was built from (not the file, which may be mid-edit).
        var snapshot = GatewayRequest.Of(context).Snapshot;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { revision = snapshot.Revision, config = snapshot.Config }, s_json));
    }

    private static async Task<bool> AuthorizedAsync(HttpContext context)
    {
        var admin = GatewayRequest.Of(context).Snapshot.Config.Admin;
        if (admin?.Key is null)
        {
            await OpenAiErrorWriter.WriteAsync(context, GatewayError.UnknownUrl, "Unknown URL. The gateway serves the OpenAI API under /v1/.");
            return false;
        }
        var headers = context.Request.Headers;
        var authorization = headers.Authorization.ToString();
        var presented = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : headers["x-api-key"].ToString().Trim();
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(admin.Key.Reveal()));
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), expected))
        {
            await OpenAiErrorWriter.WriteAsync(context, presented.Length == 0 ? GatewayError.MissingApiKey : GatewayError.InvalidApiKey, "The admin endpoints need the admin key.");
            return false;
        }
        return true;
    }

    private sealed class MaskedSecret : JsonConverter<Secret>
    {
        public override Secret Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, Secret value, JsonSerializerOptions options) => writer.WriteStringValue("***");
    }

    private sealed class RegexAsPattern : JsonConverter<Regex>
    {
        public override Regex Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, Regex value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }
}
