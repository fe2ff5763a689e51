using System.Text.Json;
using Gateway.Core.Models;
using Gateway.Core.Routing;

namespace Gateway.Server.Handlers;

/// <summary>/healthz: the process is alive. /readyz: a config is loaded and at least one provider is enabled.</summary>
internal sealed class HealthHandler
{
    private readonly SnapshotHolder _snapshots;
    private readonly ModelRefresher _models;

    public HealthHandler(SnapshotHolder snapshots, ModelRefresher models)
    {
        _snapshots = snapshots;
        _models = models;
    }

    public static Task LivenessAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync("{\"status\":\"ok\"}");
    }

    public async Task ReadinessAsync(HttpContext context)
    {
        var snapshot = _snapshots.Current;
        var modelResults = _models.LastResults;
        bool ready = snapshot.Routes.EnabledProviderCount > 0;
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("status", ready ? "ready" : "no_enabled_provider");
            json.WriteNumber("config_revision", snapshot.Revision);
            json.WriteStartObject("providers");
            foreach (var provider in snapshot.Config.Providers)
            {
                json.WriteStartObject(provider.Name);
                json.WriteBoolean("enabled", provider.Enabled);
                if (provider.DisabledReason is not null)
                {
                    json.WriteString("disabled_reason", provider.DisabledReason);
                }
                if (modelResults.TryGetValue(provider.Name, out var models))
                {
                    json.WriteString("models_refresh", models);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
