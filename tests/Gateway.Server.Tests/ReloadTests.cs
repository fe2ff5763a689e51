using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Gateway.Core.Providers;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>Config hot reload: file changes (edit, atomic rename, symlink swap), SIGHUP, the admin endpoints, and no dropped request.</summary>
public sealed class ReloadTests : IDisposable
{
    private const string AdminKey = "admin-key-0123456789abcdef";
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-reload-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ConfigPath => Path.Combine(_dir, "config.yaml");

    private static string Yaml(string providers, string extra = "") =>
        "server: { host: 127.0.0.1, port: 0, drain_timeout: 5s }\nproviders:\n" + providers + extra;

    private static string Provider(string name, Uri url, string key = "\"${TEST_PROVIDER_KEY}\"") =>
        $"  {name}: {{ type: openai, base_url: {url}, api_key: {key}, timeout: 5s }}\n";

    [Fact]
    public async Task ValidEdit_PicksUpANewProvider_WithinASecond()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)));
        using (var before = await gateway.PostAsync("/v1/chat/completions", """{"model":"b/m"}"""))
        {
            Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        }

        var reloaded = gateway.NextSnapshotAsync();
        var clock = Stopwatch.StartNew();
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl) + Provider("b", mock.BaseUrl)));
        var snapshot = await reloaded;

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"reload took {clock.Elapsed}");
        Assert.Equal(2, snapshot.Revision);
        using var after = await gateway.PostAsync("/v1/chat/completions", """{"model":"b/m"}""");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        // The reload logs after it publishes: wait for the line rather than race it.
        await gateway.Logs.WaitForAsync(l => l.Contains("config reloaded (file change), revision 2: providers added b", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        // The model list is refreshed at once (the interval is the default 5 minutes): the new provider's models are listed.
        await gateway.WaitForCatalogAsync(c => c.Contains("b/mock-model"));
    }

    [Fact]
    public async Task TwoEditsHalfASecondApart_BothTakeEffect()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)));

        var first = gateway.NextSnapshotAsync();
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl) + Provider("b", mock.BaseUrl)));
        await first;
        var second = gateway.NextSnapshotAsync();
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl) + Provider("c", mock.BaseUrl)));
        var snapshot = await second;

        Assert.True(snapshot.Routes.TryGetProvider("c", out _));
        Assert.False(snapshot.Routes.TryGetProvider("b", out _));
    }

    [Fact]
    public async Task Reload_WithNamesDifferingOnlyInCase_IsRejectedNamingBoth_AndTheOldConfigKeepsServing()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)));

        var rejected = gateway.Logs.WaitForAsync(l => l.Contains("rejected", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl) + Provider("A", mock.BaseUrl)));
        await rejected;

        var line = gateway.Logs.Lines.Single(l => l.Contains("rejected", StringComparison.Ordinal));
        Assert.StartsWith("Warning ", line, StringComparison.Ordinal);
        Assert.Contains("line 4: providers.A: provider 'A' (line 4) and 'a' (line 3) differ only in case", line, StringComparison.Ordinal);
        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"a/m"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(gateway.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reload_ThatClosesTheAdminEndpoints_SaysSoAtWarning()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var environment = TestGateway.Environment(("ADMIN_KEY", AdminKey));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl), "admin: { key: \"${ADMIN_KEY}\" }\n"), environment);

        var warned = gateway.Logs.WaitForAsync(l => l.Contains("config reload: the admin endpoints are DISABLED", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl), "admin: { key: \"${UNSET_ADMIN_KEY}\" }\n"));
        await warned;

        var line = gateway.Logs.Lines.Single(l => l.Contains("admin endpoints are DISABLED", StringComparison.Ordinal));
        Assert.StartsWith("Warning ", line, StringComparison.Ordinal);
        Assert.Contains("UNSET_ADMIN_KEY", line, StringComparison.Ordinal);
        using var reload = await gateway.PostAsync("/admin/reload", "{}", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey));
        Assert.Equal(HttpStatusCode.NotFound, reload.StatusCode);
    }

    [Fact]
    public async Task Reload_ThatChangesServerLimits_SaysTheyNeedARestart()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)));

        var warned = gateway.Logs.WaitForAsync(l => l.Contains("config reload: server.limits takes effect only after a restart", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)).Replace(
            "drain_timeout: 5s }", "drain_timeout: 5s, limits: { max_connections: 50 } }", StringComparison.Ordinal));
        await warned;

        Assert.StartsWith("Warning ", gateway.Logs.Lines.Single(l => l.Contains("server.limits", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_WithAnUnchangedElasticsearchKey_DoesNotAskForARestart()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var bulk = await FakeBulkEndpoint.StartAsync();
        var environment = TestGateway.Environment(("ES_KEY", "es-key-0123456789"));
        var log = $"completion_log: {{ sink: elasticsearch, elasticsearch: {{ url: \"{bulk.Url}\", api_key: \"${{ES_KEY}}\" }} }}\n";
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl), log), environment);

        var reloaded = gateway.Logs.WaitForAsync(l => l.Contains("config reloaded", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl) + Provider("b", mock.BaseUrl), log));
        await reloaded;

        Assert.Contains(gateway.Logs.Lines, l => l.Contains("providers added b", StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Logs.Lines, l => l.Contains("restart", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reload_RetiresTheLimitersOfRemovedAndChangedKeys_OnceTheirLastRequestEnded()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var environment = TestGateway.Environment(("A_KEY", "team-a-key-0123456789"), ("B_KEY", "team-b-key-0123456789"));
        static string Auth(int rpmA, bool withB) =>
            "auth:\n  keys:\n    - { name: team-a, key: \"${A_KEY}\", rpm: " + rpmA + " }\n"
            + (withB ? "    - { name: team-b, key: \"${B_KEY}\", rpm: 5, max_concurrent: 2 }\n" : "");
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl), Auth(100, true)), environment);
        Action<HttpRequestMessage> As(string key) => r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using (await gateway.PostAsync("/v1/chat/completions", """{"model":"a/m"}""", As("team-b-key-0123456789")))
        {
        }
        // team-a's request is still in flight when the reload lands.
        var slow = gateway.PostAsync("/v1/chat/completions", """{"model":"a/m","mock":{"delay_ms":800}}""", As("team-a-key-0123456789"));
        await mock.NextArrivalAsync(TimeSpan.FromSeconds(10));
        await mock.NextArrivalAsync(TimeSpan.FromSeconds(10));
        var limiters = gateway.Host.Components.Limiters;
        var keys = gateway.Host.Snapshots.Current.Keys.Keys;
        var oldA = limiters.Existing(keys.Single(k => k.Name == "team-a"))!;
        var oldB = limiters.Existing(keys.Single(k => k.Name == "team-b"))!;

        var reloaded = gateway.NextSnapshotAsync();
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl), Auth(200, false)));
        await reloaded;

        Assert.True(oldB.IsDisposed);
        Assert.False(oldA.IsDisposed);
        Assert.Equal(0, limiters.Count);
        using (var answer = await slow)
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        Assert.True(oldA.IsDisposed);
        using var fresh = await gateway.PostAsync("/v1/chat/completions", """{"model":"a/m"}""", As("team-a-key-0123456789"));
        Assert.Equal("200", fresh.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal(1, limiters.Count);
        using var removed = await gateway.PostAsync("/v1/chat/completions", """{"model":"a/m"}""", As("team-b-key-0123456789"));
        Assert.Equal(HttpStatusCode.Unauthorized, removed.StatusCode);
    }

    [Fact]
    public async Task InvalidEdit_KeepsTheOldConfigServing_AndReportsTheError()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)));

        // Warning, not Error: the gateway handled an operator's mistake (Error lines mean gateway bugs).
        var rejected = gateway.Logs.WaitForAsync(l => l.StartsWith("Warning ", StringComparison.Ordinal) && l.Contains("config reload (file change) rejected", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await File.WriteAllTextAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl).Replace("timeout: 5s", "tiemout: 5s", StringComparison.Ordinal)));
        await rejected;

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"a/m"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ready = await gateway.Client.GetStringAsync("/readyz");
        Assert.Contains("\"failed\":1", ready, StringComparison.Ordinal);
        Assert.Contains("line 3: providers.a.tiemout: unknown key", ready, StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Lines, l => l.StartsWith("Warning ", StringComparison.Ordinal) && l.Contains("providers.a.tiemout: unknown key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AtomicRename_IsDetected()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)));

        var reloaded = gateway.NextSnapshotAsync();
        var temporary = Path.Combine(_dir, ".config.yaml.tmp");
        await File.WriteAllTextAsync(temporary, Yaml(Provider("a", mock.BaseUrl) + Provider("b", mock.BaseUrl)));
        File.Move(temporary, ConfigPath, overwrite: true);

        Assert.True((await reloaded).Routes.TryGetProvider("b", out _));
    }

    [Fact]
    public async Task SymlinkSwap_AsKubernetesDoes_IsDetected()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var v1 = Path.Combine(_dir, "v1.yaml");
        var v2 = Path.Combine(_dir, "v2.yaml");
        await File.WriteAllTextAsync(v1, Yaml(Provider("a", mock.BaseUrl)));
        await File.WriteAllTextAsync(v2, Yaml(Provider("a", mock.BaseUrl) + Provider("b", mock.BaseUrl)));
        File.CreateSymbolicLink(ConfigPath, v1);
        await using var gateway = await TestGateway.StartAsync(await File.ReadAllTextAsync(ConfigPath), configPath: ConfigPath);

        var reloaded = gateway.NextSnapshotAsync();
        var link = Path.Combine(_dir, "..data_tmp");
        File.CreateSymbolicLink(link, v2);
        File.Move(link, ConfigPath, overwrite: true);

        Assert.True((await reloaded).Routes.TryGetProvider("b", out _));
    }

    [Fact]
    public async Task Sighup_Reloads_WhatTheEnvironmentNowSays()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var environment = new ConcurrentDictionary<string, string> { ["TEST_PROVIDER_KEY"] = TestGateway.ProviderKey };
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath,
            Yaml(Provider("a", mock.BaseUrl) + Provider("b", mock.BaseUrl, "\"${B_KEY}\"")), name => environment.GetValueOrDefault(name));
        Assert.False(gateway.Host.Snapshots.Current.Routes.TryGetProvider("b", out _));

        environment["B_KEY"] = "b-key-abcdef";
        var reloaded = gateway.NextSnapshotAsync();
        using (var kill = Process.Start("kill", ["-HUP", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.True((await reloaded).Routes.TryGetProvider("b", out _));
        await gateway.Logs.WaitForAsync(l => l.Contains("config reloaded (SIGHUP)", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AdminEndpoints_ReloadAndShowTheMaskedConfig_OnlyWithTheAdminKey()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var environment = TestGateway.Environment(("ADMIN_KEY", AdminKey));
        var admin = "admin: { key: \"${ADMIN_KEY}\" }\n";
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl), admin), environment);

        using var anonymous = await gateway.PostAsync("/admin/reload", "{}");
        await OpenAiAssert.ErrorAsync(anonymous, HttpStatusCode.Unauthorized, "invalid_api_key");
        using var wrong = await gateway.PostAsync("/admin/reload", "{}", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-admin-key-000000"));
        await OpenAiAssert.ErrorAsync(wrong, HttpStatusCode.Unauthorized, "invalid_api_key");

        using var reload = await gateway.PostAsync("/admin/reload", "{}", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey));
        Assert.Equal("""{"reloaded":true}""", (await reload.Content.ReadAsStringAsync()).Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/config");
        request.Headers.Add("x-api-key", AdminKey);
        using var config = await gateway.Client.SendAsync(request);
        var json = await config.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        Assert.Contains("\"revision\": 2", json, StringComparison.Ordinal);
        Assert.Contains("\"api_key\": \"***\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain(TestGateway.ProviderKey, json, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminKey, json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAnAdminSection_TheAdminEndpointsDoNotExist()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, Yaml(Provider("a", mock.BaseUrl)));

        using var reload = await gateway.PostAsync("/admin/reload", "{}", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey));
        using var config = await gateway.Client.GetAsync("/admin/config");

        await OpenAiAssert.ErrorAsync(reload, HttpStatusCode.NotFound, "unknown_url");
        await OpenAiAssert.ErrorAsync(config, HttpStatusCode.NotFound, "unknown_url");
    }

    [Fact]
    public async Task StreamsRunningThroughFiftyReloads_AllComplete_EachServedByOneSnapshot()
    {
        await using var one = await MockProviderServer.StartAsync(new MockBehavior { Chunks = 8, ChunkDelayMs = 15 });
        await using var two = await MockProviderServer.StartAsync(new MockBehavior { Chunks = 8, ChunkDelayMs = 15 });
        string ConfigFor(int revision) => revision % 2 == 1
            ? Yaml(Provider("p", one.BaseUrl, "key-one-1111111"), "admin: { key: \"${ADMIN_KEY}\" }\n")
            : Yaml(Provider("p", two.BaseUrl, "key-two-2222222"), "admin: { key: \"${ADMIN_KEY}\" }\n");
        var clients = new ProviderClientFactory();
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, ConfigFor(1), TestGateway.Environment(("ADMIN_KEY", AdminKey)), clients);

        using var stop = new CancellationTokenSource();
        int completed = 0;
        var failures = new ConcurrentQueue<string>();
        var load = Task.WhenAll(Enumerable.Range(0, 24).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await gateway.ChatAsync("""{"model":"p/m","stream":true}""");
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || !text.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal))
                {
                    failures.Enqueue($"{(int)response.StatusCode}: {text}");
                }
                Interlocked.Increment(ref completed);
            }
        }));
        for (int revision = 2; revision <= 51; revision++)
        {
            var published = gateway.NextSnapshotAsync();
            await File.WriteAllTextAsync(ConfigPath, ConfigFor(revision));
            await published;
        }
        await stop.CancelAsync();
        await load;

        Assert.Empty(failures);
        Assert.True(completed > 50, $"only {completed} requests ran");
        Assert.NotEmpty(one.Requests);
        Assert.NotEmpty(two.Requests);
        Assert.All(one.Requests, r => Assert.Equal("Bearer key-one-1111111", r.Headers["Authorization"]));
        Assert.All(two.Requests, r => Assert.Equal("Bearer key-two-2222222", r.Headers["Authorization"]));
        // Every retired snapshot released its provider once its last stream ended: one pool is left.
        await WhenLiveAsync(clients, 1);
    }

    [Fact]
    public async Task TwoHundredReloads_LeakNoConnectionPool_AndUnchangedProvidersKeepTheirs()
    {
        await using var mock = await MockProviderServer.StartAsync();
        var clients = new ProviderClientFactory();
        string ConfigFor(int i) => Yaml(Provider("steady", mock.BaseUrl) + Provider("moving", mock.BaseUrl).Replace("timeout: 5s", $"timeout: {5 + (i % 2)}s", StringComparison.Ordinal));
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, ConfigFor(0), clients: clients);
        var reloader = gateway.Host.Components.Reloader;
        var steady = gateway.Host.Snapshots.Current.Providers.Single(p => p.Name == "steady");

        for (int i = 1; i <= 200; i++)
        {
            await File.WriteAllTextAsync(ConfigPath, ConfigFor(i));
            Assert.Null(await reloader.ReloadAsync("test"));
        }

        Assert.Same(steady, gateway.Host.Snapshots.Current.Providers.Single(p => p.Name == "steady"));
        // A model refresh or a debounced watcher reload may still hold the previous snapshot for a moment.
        await WhenLiveAsync(clients, 2);
        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"moving/m"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task WhenLiveAsync(ProviderClientFactory clients, long expected)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (clients.Live == expected)
            {
                reached.TrySetResult();
            }
        }
        clients.PoolClosed += Check;
        try
        {
            Check();
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            clients.PoolClosed -= Check;
        }
    }

    [Fact]
    public async Task CircuitStateAndRateCounters_SurviveAReload()
    {
        await using var down = await MockProviderServer.StartAsync(new MockBehavior { Status = 503 });
        await using var backup = await MockProviderServer.StartAsync();
        var environment = TestGateway.Environment(("KEY", "team-key-123456789"));
        var auth = "auth: { keys: [ { name: team, key: \"${KEY}\", rpm: 3 } ] }\n";
        string ConfigFor(string extra) => Yaml(
            "  down: { type: openai, base_url: " + down.BaseUrl + ", retries: 0, circuit: { failure_threshold: 1, cooldown: 60s } }\n" + Provider("backup", backup.BaseUrl),
            auth + "strategies:\n  smart: { targets: [down/m, backup/m] }\n" + extra);
        await using var gateway = await TestGateway.StartFromFileAsync(ConfigPath, ConfigFor(""), environment);
        void Key(HttpRequestMessage r) => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "team-key-123456789");

        (await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""", Key)).Dispose();
        (await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""", Key)).Dispose();
        var reloaded = gateway.NextSnapshotAsync();
        await File.WriteAllTextAsync(ConfigPath, ConfigFor("routing: { require_known_model: false }\n"));
        await reloaded;
        using var third = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""", Key);
        using var fourth = await gateway.PostAsync("/v1/chat/completions", """{"model":"smart"}""", Key);

        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Single(down.Requests);
        await OpenAiAssert.ErrorAsync(fourth, HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
    }
}
