using System.Globalization;
using System.Net;
using Yarp.ReverseProxy.Configuration;

// yarp-baseline --port 8090 --destination http://127.0.0.1:8081/
// Every request is forwarded unchanged (no body inspection): the cheapest useful general-purpose proxy.
var port = int.Parse(args[Array.IndexOf(args, "--port") + 1], CultureInfo.InvariantCulture);
var destination = args[Array.IndexOf(args, "--destination") + 1];

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    k.Listen(IPAddress.Loopback, port);
});
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "mock", Match = new RouteMatch { Path = "/{**catch-all}" } }],
    [new ClusterConfig { ClusterId = "mock", Destinations = new Dictionary<string, DestinationConfig> { ["mock"] = new() { Address = destination } } }]);
var app = builder.Build();
app.MapReverseProxy();
await app.RunAsync();
