using System.Net.Http.Headers;
using System.Text;
using Gateway.Core.Config;
using Gateway.Core.Models;
using Gateway.Core.Providers;
using Gateway.Server.Hosting;

namespace Gateway.Server.Tests.Infrastructure;

/// <summary>The real gateway on 127.0.0.1:0, configured from YAML text, with its logs captured.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    /// <summary>The provider key every test config uses: it must appear nowhere but in the Authorization header to its own provider.</summary>
    public const string ProviderKey = "sk-canary-provider-7f3a9c";

    /// <summary>A credential clients send: it must never reach a provider or a log.</summary>
    public const string ClientKey = "gw-canary-client-51d2e8";

    private TestGateway(GatewayHost host, LogCollector logs, HttpClient client)
    {
        Host = host;
        Logs = logs;
        Client = client;
    }

    internal GatewayHost Host { get; }

    public LogCollector Logs { get; }

    public HttpClient Client { get; }

    public Uri BaseUrl => Client.BaseAddress!;

    /// <summary>The environment of test configs: the canary provider key, two gateway keys and anything in <paramref name="extra"/>.</summary>
    public static Func<string, string?> Environment(params (string Name, string Value)[] extra) => name =>
        name == "TEST_PROVIDER_KEY" ? ProviderKey : extra.FirstOrDefault(e => e.Name == name).Value;

    public static async Task<TestGateway> StartAsync(
        string yaml, ProviderClientFactory? clients = null, Func<string, string?>? environment = null, TimeProvider? time = null,
        IReadOnlyList<Gateway.Core.ResponseHooks.IResponseHook>? responseMiddleware = null, string? configPath = null,
        Action<OpenTelemetry.Trace.TracerProviderBuilder>? configureTracing = null)
    {
        var expander = new EnvironmentExpander(environment ?? (name => name == "TEST_PROVIDER_KEY" ? ProviderKey : null));
        var load = ConfigLoader.Parse(yaml, expander);
        if (load.Config is null)
        {
            throw new ConfigException("test config", load.Errors);
        }
        var logs = new LogCollector();
        var host = GatewayHost.Create(load.Config, new GatewayHostOptions
        {
            ConfigureLogging = logging =>
            {
                logging.SetMinimumLevel(LogLevel.Debug);
                logging.AddProvider(logs);
            },
            ClientFactory = clients,
            TimeProvider = time,
            ResponseHooks = responseMiddleware ?? [],
            ConfigPath = configPath,
            ConfigureTracing = configureTracing,
            Environment = expander,
        });
        await host.StartAsync();
        var address = host.Addresses[0];
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        return new TestGateway(host, logs, client);
    }

    /// <summary>A config with one provider per mock, named as given, all using the canary key.</summary>
    public static string Config(params (string Name, Uri BaseUrl)[] providers) => Config("", providers);

    public static string Config(string extra, params (string Name, Uri BaseUrl)[] providers) =>
        Config(extra, providers.Select(p => (p.Name, p.BaseUrl, "")).ToArray());

    /// <param name="providers">Each with more provider keys for its flow mapping, e.g. "retries: 0, first_token_timeout: 300ms" (starting with "type: ..." for another type than openai).</param>
    public static string Config(string extra, params (string Name, Uri BaseUrl, string Options)[] providers)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("server: { host: 127.0.0.1, port: 0, max_request_body_bytes: 65536, drain_timeout: 5s }");
        yaml.AppendLine("providers:");
        foreach (var (name, url, options) in providers)
        {
            var more = options.Length == 0 ? "" : ", " + options;
            var timeout = options.StartsWith("timeout:", StringComparison.Ordinal) || options.Contains(" timeout:", StringComparison.Ordinal) ? "" : ", timeout: 5s";
            var type = options.StartsWith("type:", StringComparison.Ordinal) ? "" : "type: openai, ";
            yaml.AppendLine($"  {name}: {{ {type}base_url: {url}, api_key: \"${{TEST_PROVIDER_KEY}}\", connect_timeout: 2s{timeout}{more} }}");
        }
        yaml.Append(extra);
        return yaml.ToString();
    }

    public Task<HttpResponseMessage> PostAsync(string path, string json, Action<HttpRequestMessage>? configure = null, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        configure?.Invoke(request);
        return Client.SendAsync(request, completion, cancellationToken);
    }

    public Task<HttpResponseMessage> ChatAsync(string json, CancellationToken cancellationToken = default) =>
        PostAsync("/v1/chat/completions", json, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    /// <summary>The gateway on a config file it watches: written first, then reloaded on every change.</summary>
    public static async Task<TestGateway> StartFromFileAsync(
        string path, string yaml, Func<string, string?>? environment = null, ProviderClientFactory? clients = null, TimeProvider? time = null)
    {
        await File.WriteAllTextAsync(path, yaml);
        return await StartAsync(yaml, clients, environment, time, configPath: path);
    }

    /// <summary>Completes at the next config publication (a successful reload).</summary>
    public Task<Gateway.Core.Routing.GatewaySnapshot> NextSnapshotAsync()
    {
        var published = new TaskCompletionSource<Gateway.Core.Routing.GatewaySnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = Host.Snapshots;
        void OnPublished(Gateway.Core.Routing.GatewaySnapshot snapshot)
        {
            published.TrySetResult(snapshot);
            holder.Published -= OnPublished;
        }
        holder.Published += OnPublished;
        return published.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Waits (on the publish signal, not a poll) until the model catalog satisfies <paramref name="condition"/>.</summary>
    public async Task<ModelCatalog> WaitForCatalogAsync(Func<ModelCatalog, bool> condition)
    {
        var holder = Host.Components.Catalog;
        var reached = new TaskCompletionSource<ModelCatalog>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnPublished(ModelCatalog catalog)
        {
            if (condition(catalog))
            {
                reached.TrySetResult(catalog);
            }
        }
        holder.Published += OnPublished;
        try
        {
            OnPublished(holder.Current);
            return await reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            holder.Published -= OnPublished;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.StopAsync();
        await Host.DisposeAsync();
        // The canary scan: the provider key never reaches a log line.
        Assert.DoesNotContain(ProviderKey, Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientKey, Logs.All, StringComparison.Ordinal);
    }
}
