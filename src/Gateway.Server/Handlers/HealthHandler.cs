using System.Text.Json;
using Gateway.Core.Models;
using Gateway.Core.Routing;

namespace Gateway.Server.Handlers;

/// <summary>/healthz: the process is alive. /readyz: a config is loaded and at least one provider is enabled (and the overload state, when limits are set).</summary>
internal sealed class HealthHandler
{
    private readonly SnapshotHolder _snapshots;
    private readonly ModelRefresher _models;
    private readonly Hosting.ReloadStatus _reloads;
    private readonly Middleware.OverloadGuard _overload;

    public HealthHandler(SnapshotHolder snapshots, ModelRefresher models, Hosting.ReloadStatus reloads, Middleware.OverloadGuard overload)
    {
        _snapshots = snapshots;
        _models = models;
        _reloads = reloads;
        _overload = overload;
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
            json.WriteStartObject("config_reloads");
            json.WriteNumber("succeeded", _reloads.Succeeded);
            json.WriteNumber("failed", _reloads.Failed);
            if (_reloads.LastError is { } error)
            {
                json.WriteString("last_error", error);
            }
            json.WriteEndObject();
            if (snapshot.Config.Server.Overload is { } limits)
            {
                // Shedding does not make the gateway unready: it admits again as soon as it is below its limits, and
                // taking it out of rotation at every spike would move the whole load onto its peers at once.
                json.WriteStartObject("overload");
                json.WriteNumber("in_flight", _overload.InFlight);
                json.WriteNumber("max_concurrent_requests", limits.MaxConcurrentRequests);
                json.WriteNumber("memory_bytes", _overload.MemoryBytes());
                json.WriteNumber("max_memory_bytes", _overload.MemoryLimit(limits));
                json.WriteEndObject();
            }
            json.WriteStartObject("providers");
            foreach (var provider in snapshot.Config.Providers)
            {
                json.WriteStartObject(provider.Name);
                json.WriteBoolean("enabled", provider.Enabled);
                if (provider.DisabledReason is not null)
                {
                    json.WriteString("disabled_reason", provider.DisabledReason);
                }
                var endpoint = snapshot.Providers.FirstOrDefault(p => p.Name == provider.Name);
                if (endpoint is not null && !endpoint.Health.IsAvailable)
                {
                    json.WriteNumber("cooling_down_seconds", Math.Round(endpoint.Health.RemainingCooldown.TotalSeconds, 1));
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
