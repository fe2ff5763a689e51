using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

public sealed class HostingTests
{
    [Fact]
    public async Task Healthz_IsOk_AndReadyzReportsProviders()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var health = await gateway.Client.GetAsync("/healthz");
        using var ready = await gateway.Client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        using var json = System.Text.Json.JsonDocument.Parse(body);
        Assert.True(json.RootElement.GetProperty("providers").GetProperty("local").GetProperty("enabled").GetBoolean());
        Assert.DoesNotContain(TestGateway.ProviderKey, body, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_Is503_WhenNoProviderIsEnabled()
    {
        await using var gateway = await TestGateway.StartAsync("""
            server: { host: 127.0.0.1, port: 0 }
            providers:
              openai: { type: openai, base_url: https://api.openai.com/v1, api_key: "${NOT_SET_ANYWHERE}" }
            """);

        using var ready = await gateway.Client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("NOT_SET_ANYWHERE", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutdown_LetsInFlightStreamFinish()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        using var response = await gateway.ChatAsync("""{"model":"local/m","stream":true,"mock":{"chunks":5,"chunk_delay_ms":150}}""");
        var events = new SseReader(await response.Content.ReadAsStreamAsync());
        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);

        var stopping = gateway.Host.StopAsync();
        var rest = new List<string>();
        while (await events.NextAsync() is { } next)
        {
            rest.Add(next);
        }
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("[DONE]", rest[^1]);
        Assert.Equal(6, rest.Count);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => gateway.Client.GetAsync("/healthz"));
    }

    [Fact]
    public async Task Tls_ServesHttp2AndHttp11()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var tls = await TlsGateway.StartAsync(mock);

        foreach (var version in new[] { HttpVersion.Version20, HttpVersion.Version11 })
        {
            using var response = await tls.Client.SendAsync(TlsGateway.Chat("""{"model":"local/m"}""", version));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(version, response.Version);
        }
    }

    [Fact]
    public async Task Http2_UpstreamClosesMidStream_ClientGetsErrorEventThenStreamReset()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var tls = await TlsGateway.StartAsync(mock);

        using var response = await tls.Client.SendAsync(
            TlsGateway.Chat("""{"model":"local/m","stream":true,"mock":{"chunks":5,"close_after":2}}""", HttpVersion.Version20),
            HttpCompletionOption.ResponseHeadersRead);
        var events = new SseReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("tok1", await events.NextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"code\":\"stream_interrupted\"", await events.NextAsync(), StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<IOException>(async () => await events.NextAsync());
    }

    /// <summary>The gateway serving HTTPS (HTTP/1.1 and HTTP/2) with a throw-away self-signed certificate.</summary>
    private sealed class TlsGateway : IAsyncDisposable
    {
        private readonly DirectoryInfo _directory;
        private readonly TestGateway _gateway;
        private readonly X509Certificate2 _certificate;

        private TlsGateway(DirectoryInfo directory, TestGateway gateway, X509Certificate2 certificate, HttpClient client)
        {
            _directory = directory;
            _gateway = gateway;
            _certificate = certificate;
            Client = client;
        }

        public HttpClient Client { get; }

        public static async Task<TlsGateway> StartAsync(MockProviderServer mock)
        {
            var directory = Directory.CreateTempSubdirectory("gateway-tls-");
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certPath = Path.Combine(directory.FullName, "gateway.pem");
            var keyPath = Path.Combine(directory.FullName, "gateway.key");
            await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
            var gateway = await TestGateway.StartAsync($$"""
                server: { host: 127.0.0.1, port: 0, tls: { certificate: {{certPath}}, key: {{keyPath}} } }
                providers:
                  local: { type: openai, base_url: {{mock.BaseUrl}} }
                """);
            var address = gateway.Host.Addresses[0];
            Assert.Equal("https", address.Scheme);
            var thumbprint = certificate.GetCertHashString();
            var client = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == thumbprint },
            })
            { BaseAddress = address };
            return new TlsGateway(directory, gateway, certificate, client);
        }

        public static HttpRequestMessage Chat(string json, Version version) => new(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _gateway.DisposeAsync();
            _certificate.Dispose();
            _directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task CheckConfig_ValidFile_PrintsSummaryAndExits0()
    {
        var path = await WriteTempAsync("""
            server: { host: 127.0.0.1, port: 8080 }
            providers:
              local: { type: openai, base_url: http://127.0.0.1:8081/v1 }
              openai: { type: openai, base_url: https://api.openai.com/v1, api_key: "${GATEWAY_TEST_UNSET_KEY}" }
            admin: { key: "${GATEWAY_TEST_UNSET_ADMIN_KEY}" }
            """);

        var (exit, output) = await RunGatewayAsync("--config", path, "--check-config");

        Assert.Equal(0, exit);
        Assert.Contains("admin: DISABLED (key: environment variable GATEWAY_TEST_UNSET_ADMIN_KEY is not set)", output, StringComparison.Ordinal);
        Assert.Contains("provider local: type=openai base_url=http://127.0.0.1:8081/v1 enabled", output, StringComparison.Ordinal);
        Assert.Contains("provider openai: type=openai base_url=https://api.openai.com/v1 disabled (api_key: environment variable GATEWAY_TEST_UNSET_KEY is not set)", output, StringComparison.Ordinal);
        Assert.Contains("listen: http://127.0.0.1:8080", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_IsTheContainerHealthcheck_ZeroOnlyFor200()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("p", mock.BaseUrl)));

        var (up, _) = await RunGatewayAsync("--probe", new Uri(gateway.BaseUrl, "/healthz").ToString());
        var (missing, _) = await RunGatewayAsync("--probe", new Uri(gateway.BaseUrl, "/nothing-here").ToString());
        var (closed, output) = await RunGatewayAsync("--probe", $"http://127.0.0.1:{ScaleOut.RedisProcess.FreePort()}/healthz");

        Assert.Equal((0, 1, 1), (up, missing, closed));
        Assert.Contains("probe failed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_ListsStrategyTargetsWithoutAPrice()
    {
        var path = await WriteTempAsync("""
            server: { host: 127.0.0.1, port: 8080 }
            providers:
              local: { type: openai, base_url: http://127.0.0.1:8081/v1 }
              openai: { type: openai, base_url: http://127.0.0.1:8082/v1 }
            strategies:
              smart: { targets: [openai/gpt-4o, openai/gpt-new, local/llama] }
            pricing:
              models:
                "openai/gpt-4o*": { input: 2.5, output: 10 }
            """);

        var (exit, output) = await RunGatewayAsync("--config", path, "--check-config");

        Assert.Equal(0, exit);
        Assert.Contains("pricing: 1 entries", output, StringComparison.Ordinal);
        Assert.Contains("pricing: no price for strategy target openai/gpt-new (its cost will be unknown)", output, StringComparison.Ordinal);
        Assert.Contains("pricing: no price for strategy target local/llama", output, StringComparison.Ordinal);
        Assert.DoesNotContain("target openai/gpt-4o ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_InvalidFile_NamesKeyPathAndLine_AndExits1()
    {
        var path = await WriteTempAsync("""
            server:
              port: 8080
            providers:
              openai:
                type: openai
                base_url: not-a-url
                tiemout: 30s
            """);

        var (exit, output) = await RunGatewayAsync("--config", path, "--check-config");

        Assert.Equal(1, exit);
        Assert.Contains("line 6: providers.openai.base_url: not an absolute http(s) URL", output, StringComparison.Ordinal);
        Assert.Contains("line 7: providers.openai.tiemout: unknown key", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigFromEnvironmentVariable_IsUsed()
    {
        var path = await WriteTempAsync("""
            providers:
              local: { type: openai, base_url: http://127.0.0.1:8081/v1 }
            """);

        var (exit, output) = await RunGatewayAsync(new Dictionary<string, string> { ["GATEWAY_CONFIG"] = path }, "--check-config");

        Assert.Equal(0, exit);
        Assert.Contains(path + ": valid", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheExecutable_LogsACutStreamAsAWarning_NeverAsAnError()
    {
        // The real executable with its console logging (the in-process hosts of the other tests log elsewhere).
        await using var mock = await MockProviderServer.StartAsync();
        var path = await WriteTempAsync($$"""
            server: { host: 127.0.0.1, port: 0, drain_timeout: 1s }
            providers:
              local: { type: openai, base_url: {{mock.BaseUrl}} }
            """);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gateway.dll"));
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(path);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = "";
        try
        {
            Uri? address = null;
            while (address is null && await process.StandardOutput.ReadLineAsync() is { } line)
            {
                output += line + "\n";
                if (System.Text.RegularExpressions.Regex.Match(line, @"listening on (http://\S+)") is { Success: true } match)
                {
                    address = new Uri(match.Groups[1].Value);
                }
            }
            Assert.True(address is not null, output);
            using var client = new HttpClient { BaseAddress = address };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"local/m","stream":true,"mock":{"chunks":5,"close_after":2}}""", System.Text.Encoding.UTF8, "application/json"),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var events = new SseReader(await response.Content.ReadAsStreamAsync());
            Assert.Contains("tok0", await events.NextAsync(), StringComparison.Ordinal);
            Assert.Contains("tok1", await events.NextAsync(), StringComparison.Ordinal);
            Assert.Contains("stream_interrupted", await events.NextAsync(), StringComparison.Ordinal);
            await Assert.ThrowsAnyAsync<IOException>(async () => await events.NextAsync());
        }
        finally
        {
            // SIGTERM: a graceful stop flushes the console logger's queue.
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        output += await process.StandardOutput.ReadToEndAsync() + await stderr;

        Assert.Contains("stream broke", output, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\S+ (fail|crit): ", output);
    }

    private static async Task<string> WriteTempAsync(string yaml)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gateway-test-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return path;
    }

    private static Task<(int, string)> RunGatewayAsync(params string[] args) => RunGatewayAsync(new Dictionary<string, string>(), args);

    /// <summary>Runs the real `gateway` executable (its dll, copied next to the tests) and returns exit code and output.</summary>
    private static async Task<(int, string)> RunGatewayAsync(Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gateway.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await stdout + await stderr);
    }
}
