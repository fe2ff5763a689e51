using Gateway.Core.Config;
using Gateway.Server.Hosting;

namespace Gateway.Server;

/// <summary>The `gateway` executable: read options, load and validate config.yaml, serve until Ctrl-C / SIGTERM.</summary>
internal static class Program
{
    private const string Usage = """
        usage: gateway [--config PATH] [--check-config] | gateway --probe URL

          --config PATH     configuration file (default: $GATEWAY_CONFIG, else ./config.yaml)
          --check-config    validate the configuration, print a summary and exit (0 = valid, 1 = invalid)
          --probe URL       GET the URL (a health endpoint) and exit 0 on 200, else 1: a container
                            healthcheck that needs no curl in the image
        """;

    public static async Task<int> Main(string[] args)
    {
        string? configPath = Environment.GetEnvironmentVariable("GATEWAY_CONFIG");
        bool checkOnly = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" when i + 1 < args.Length:
                    configPath = args[++i];
                    break;
                case "--check-config":
                    checkOnly = true;
                    break;
                case "--probe" when i + 1 < args.Length:
                    return await ProbeAsync(args[++i]);
                case "--help" or "-h":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync($"gateway: unknown option '{args[i]}'\n{Usage}");
                    return 2;
            }
        }
        configPath = string.IsNullOrEmpty(configPath) ? "config.yaml" : configPath;

        var load = ConfigLoader.LoadFile(configPath, EnvironmentExpander.FromProcess);
        if (load.Config is not { } config)
        {
            await Console.Error.WriteLineAsync(new ConfigException(configPath, load.Errors).Message);
            return 1;
        }
        if (checkOnly)
        {
            PrintSummary(configPath, config);
            return 0;
        }

        await using var host = GatewayHost.Create(config, new GatewayHostOptions { ConfigPath = configPath, Environment = EnvironmentExpander.FromProcess });
        await host.StartAsync();
        await host.WaitForShutdownAsync();
        return 0;
    }

    private static async Task<int> ProbeAsync(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(new Uri(url));
            return response.StatusCode == System.Net.HttpStatusCode.OK ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"gateway: probe failed: {e.Message}");
            return 1;
        }
    }

    private static void PrintSummary(string path, GatewayConfig config)
    {
        Console.WriteLine($"{path}: valid");
        var scheme = config.Server.Tls is null ? "http" : "https";
        Console.WriteLine($"  listen: {scheme}://{config.Server.Host}:{config.Server.Port}");
        foreach (var p in config.Providers)
        {
            var state = p.Enabled ? "enabled" : $"disabled ({p.DisabledReason})";
            Console.WriteLine($"  provider {p.Name}: type={p.Type} base_url={p.BaseUrl.GetLeftPart(UriPartial.Path)} {state}");
        }
        foreach (var s in config.Strategies)
        {
            Console.WriteLine($"  strategy {s.Name}: {string.Join(" -> ", s.Targets)}");
        }
        if (config.Admin is { } admin)
        {
            Console.WriteLine(admin.DisabledReason is { } reason ? $"  admin: DISABLED ({reason})" : "  admin: enabled");
        }
        if (Gateway.Core.Spend.PriceTable.From(config.Pricing) is { } prices)
        {
            Console.WriteLine($"  pricing: {config.Pricing!.Models.Count} entries" + (config.Pricing.File is { } file
                ? $", {config.Pricing.FileModels.Count} from {file} (dated {config.Pricing.FileDate ?? "?"})" : ""));
            foreach (var unpriced in UnpricedTargets(config, prices))
            {
                Console.WriteLine($"  pricing: no price for strategy target {unpriced} (its cost will be unknown)");
            }
        }
    }

    /// <summary>Strategy targets no pricing entry matches, each once.</summary>
    internal static List<string> UnpricedTargets(GatewayConfig config, Gateway.Core.Spend.PriceTable prices)
    {
        var unpriced = new List<string>();
        foreach (var strategy in config.Strategies)
        {
            foreach (var target in strategy.Targets)
            {
                var name = target.ToString();
                if (prices.Find(name) is null && !unpriced.Contains(name))
                {
                    unpriced.Add(name);
                }
            }
        }
        return unpriced;
    }
}
