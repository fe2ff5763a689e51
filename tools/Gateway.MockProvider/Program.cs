using System.Globalization;
using Gateway.MockProvider;

// mock-provider [--host 127.0.0.1] [--port 8081] [--chunks 5] [--chunk-delay-ms 0]
var host = "127.0.0.1";
var port = 8081;
var defaults = new MockBehavior();
for (int i = 0; i + 1 < args.Length; i += 2)
{
    var value = args[i + 1];
    switch (args[i])
    {
        case "--host": host = value; break;
        case "--port": port = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--chunks": defaults = defaults with { Chunks = int.Parse(value, CultureInfo.InvariantCulture) }; break;
        case "--chunk-delay-ms": defaults = defaults with { ChunkDelayMs = int.Parse(value, CultureInfo.InvariantCulture) }; break;
        default:
            Console.Error.WriteLine($"mock-provider: unknown option {args[i]}");
            return 2;
    }
}
await using var server = await MockProviderServer.StartAsync(defaults, host, port, record: false);
Console.WriteLine($"mock provider listening on {server.BaseUrl}");
await server.WaitForShutdownAsync();
return 0;
