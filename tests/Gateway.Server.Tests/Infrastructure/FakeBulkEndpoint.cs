using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gateway.Server.Tests.Infrastructure;

/// <summary>A small Elasticsearch stand-in on loopback: POST /_bulk, answering the scripted statuses in turn (then 200).</summary>
public sealed class FakeBulkEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _statuses;

    private FakeBulkEndpoint(WebApplication app, IEnumerable<int> statuses)
    {
        _app = app;
        _statuses = new ConcurrentQueue<int>(statuses);
    }

    public Uri Url { get; private set; } = null!;

    public ConcurrentQueue<(string Authorization, string ContentType, string Body, int Status)> Requests { get; } = new();

    /// <summary>Scripted per-item answers: a request meets the next entry with 200, "errors": true and these item statuses in order.</summary>
    public ConcurrentQueue<int[]> ItemStatuses { get; } = new();

    public static async Task<FakeBulkEndpoint> StartAsync(params int[] statuses)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var endpoint = new FakeBulkEndpoint(app, statuses);
        app.Run(endpoint.HandleAsync);
        await app.StartAsync();
        endpoint.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return endpoint;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        int status = context.Request.Path == "/_bulk" && HttpMethods.IsPost(context.Request.Method)
            ? (_statuses.TryDequeue(out var scripted) ? scripted : 200)
            : 404;
        Requests.Enqueue((context.Request.Headers.Authorization.ToString(), context.Request.ContentType ?? "", body, status));
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (status == 200 && ItemStatuses.TryDequeue(out var items))
        {
            await context.Response.WriteAsync(ItemsAnswer(items));
            return;
        }
        await context.Response.WriteAsync(status == 200 ? """{"took":1,"errors":false,"items":[]}""" : """{"error":"busy"}""");
    }

    private static string ItemsAnswer(int[] statuses)
    {
        var items = statuses.Select((status, i) => status < 300
            ? "{\"index\":{\"_index\":\"idx\",\"status\":" + status + ",\"result\":\"created\"}}"
            : "{\"index\":{\"_index\":\"idx\",\"status\":" + status + ",\"error\":{\"type\":\""
                + (status == 400 ? "mapper_parsing_exception" : "es_rejected_execution_exception") + "\",\"reason\":\"failed to parse item " + i + "\"}}}");
        return "{\"took\":3,\"errors\":" + (statuses.Any(s => s >= 300) ? "true" : "false") + ",\"items\":[" + string.Join(",", items) + "]}";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
