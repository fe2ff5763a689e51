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
        await context.Response.WriteAsync(status == 200 ? """{"took":1,"errors":false,"items":[]}""" : """{"error":"busy"}""");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
