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
/// POST /admin/reload, GET /admin/config and GET /admin/spend, only when config has admin.key (otherwise these paths do not exist:
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

    /// <summary>
    /// Each configured key's spend in its budget's current period (since start for a key without a budget) with its
    /// budget and reset time, and per served model the answers and their cost since start.
    /// </summary>
    public static async Task SpendAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context))
        {
            return;
        }
        var snapshot = GatewayRequest.Of(context).Snapshot;
        var ledger = snapshot.Ledger;
        var now = ledger.Time.GetUtcNow();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("keys");
            foreach (var key in snapshot.Config.Auth?.Keys ?? [])
            {
                var budget = key.Budget;
                json.WriteStartObject();
                json.WriteString("name", key.Name);
                // Shared across replicas when a state backend holds it, else this process's.
                var shared = budget is not null && snapshot.Keys.Keys.FirstOrDefault(k => k.Name == key.Name) is { } runtime && ledger.Shared is { } state
                    ? await state.SpentAsync(runtime, budget) : null;
                WriteUsd(json, "spend_usd", shared ?? ledger.Spent(key.Name, budget?.Period));
                WriteUsd(json, "budget_usd", budget?.Usd);
                if (budget is null)
                {
                    json.WriteNull("period");
                    json.WriteNull("resets_at");
                }
                else
                {
                    json.WriteString("period", Gateway.Core.Spend.BudgetWindow.Name(budget.Period));
                    json.WriteString("resets_at", Gateway.Core.Spend.BudgetWindow.Of(budget.Period, now).End);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("models");
            foreach (var (model, requests, cost, unpriced) in ledger.Models())
            {
                json.WriteStartObject();
                json.WriteString("model", model);
                json.WriteNumber("requests", requests);
                // Unknown when no answer of the model could be priced; the unpriced ones are counted beside.
                WriteUsd(json, "cost_usd", unpriced == requests ? null : cost);
                json.WriteNumber("unpriced_requests", unpriced);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void WriteUsd(Utf8JsonWriter json, string name, decimal? usd)
    {
        json.WritePropertyName(name);
        if (usd is { } value)
        {
            json.WriteRawValue(Gateway.Core.Spend.CostCalculator.Format(value), skipInputValidation: true);
        }
        else
        {
            json.WriteNullValue();
        }
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
