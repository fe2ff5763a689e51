using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Core.Config;
using Gateway.Core.Models;
using Gateway.Core.Providers;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;
using Gateway.Core.Resilience;
using Gateway.Core.Routing;
using Gateway.Core.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Core.Tests;

/// <summary>
/// The request path without sockets: the engine over a Pipe-backed client and scripted upstream handlers. (What
/// crosses a socket — framing, resets, timeouts on the wire — is tested in Gateway.Server.Tests.)
/// </summary>
public sealed class ProxyEngineTests
{
    private const string ProviderKey = "sk-test-key-123456";

    private sealed class ScriptedHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<(HttpRequestMessage Request, string Body)> Seen { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            Seen.Add((request, body));
            return answer(request);
        }
    }

    /// <summary>A body that yields its pieces, then fails as a reset connection would.</summary>
    private sealed class BreakingStream(byte[] first) : ReadOnlyStream
    {
        private bool _sent;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return ValueTask.FromResult(0);
            }
            if (_sent)
            {
                throw new IOException("connection reset");
            }
            _sent = true;
            first.CopyTo(buffer);
            return ValueTask.FromResult(first.Length);
        }
    }

    private static (ProxyEngine Engine, GatewaySnapshot Snapshot) Start(string providers, Func<ProviderConfig, HttpMessageHandler> handlers)
    {
        var yaml = "providers:\n" + providers;
        var load = ConfigLoader.Parse(yaml, new EnvironmentExpander(name => name == "KEY" ? ProviderKey : null));
        Assert.True(load.Config is not null, string.Join("\n", load.Errors));
        var time = TimeProvider.System;
        var snapshot = new SnapshotBuilder(new ProviderClientFactory(handlers), new ProviderHealthRegistry(time)).Build(load.Config);
        var engine = new ProxyEngine(NullLogger<ProxyEngine>.Instance, time, new ModelCatalogHolder(ModelRefresher.Initial(snapshot)));
        return (engine, snapshot);
    }

    private static HttpResponseMessage Json(string body, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private static HttpResponseMessage Events(Stream body)
    {
        var content = new StreamContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", "text/event-stream");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    [Fact]
    public async Task DirectRequest_GoesUpWithTheModelRewrittenAndTheProvidersKey_AndTheAnswerComesBackAsSent()
    {
        var handler = new ScriptedHandler(_ => Json("""{"id":"x","choices":[]}"""));
        var (engine, snapshot) = Start("  p: { type: openai, base_url: \"http://upstream.test/v1\", api_key: \"${KEY}\" }\n", _ => handler);
        var client = new PipeDownstream("chat/completions", """{"model":"p/gpt-4o","messages":[]}""");

        var outcome = await engine.ForwardAsync(snapshot, client.Request, client, CancellationToken.None);

        Assert.Equal(GatewayError.None, outcome.Error);
        Assert.Equal(1, outcome.Attempts);
        Assert.Equal(200, client.Status);
        Assert.Equal("""{"id":"x","choices":[]}""", await client.ResponseTextAsync());
        Assert.Equal("p/gpt-4o", client.Headers["X-Gateway-Model"]);
        var (request, body) = Assert.Single(handler.Seen);
        Assert.Equal("http://upstream.test/v1/chat/completions", request.RequestUri!.ToString());
        Assert.Equal("""{"model":"gpt-4o","messages":[]}""", body);
        Assert.Equal("Bearer " + ProviderKey, request.Headers.GetValues("Authorization").Single());
        Assert.Equal("p/gpt-4o", client.Exchange.ServedBy);
    }

    [Fact]
    public async Task Strategy_WhenTheFirstTargetRefusesTheConnection_FallsBackToTheNext()
    {
        var down = new ScriptedHandler(_ => throw new HttpRequestException(
            HttpRequestError.ConnectionError, "refused", new SocketException((int)SocketError.ConnectionRefused)));
        var up = new ScriptedHandler(_ => Json("""{"ok":true}"""));
        var (engine, snapshot) = Start(
            "  a: { type: openai, base_url: \"http://a.test/v1\", retries: 0 }\n  b: { type: openai, base_url: \"http://b.test/v1\" }\n"
            + "strategies:\n  smart: { targets: [a/m, b/n] }\n",
            config => config.Name == "a" ? down : up);
        var client = new PipeDownstream("chat/completions", """{"model":"smart"}""");

        var outcome = await engine.ForwardAsync(snapshot, client.Request, client, CancellationToken.None);

        Assert.Equal(GatewayError.None, outcome.Error);
        Assert.Equal(2, outcome.Attempts);
        Assert.Equal("b/n", client.Headers["X-Gateway-Model"]);
        Assert.Equal("""{"model":"n"}""", Assert.Single(up.Seen).Body);
    }

    [Fact]
    public async Task EventStream_IsRelayedByteForByte()
    {
        const string stream = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"choices\":[{\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        var (engine, snapshot) = Start("  p: { type: openai, base_url: \"http://p.test/v1\" }\n",
            _ => new ScriptedHandler(_ => Events(new MemoryStream(Encoding.UTF8.GetBytes(stream)))));
        var client = new PipeDownstream("chat/completions", """{"model":"p/m","stream":true}""");

        var outcome = await engine.ForwardAsync(snapshot, client.Request, client, CancellationToken.None);

        Assert.Equal(GatewayError.None, outcome.Error);
        Assert.Equal(stream, await client.ResponseTextAsync());
        Assert.Equal("no-cache", client.Headers["Cache-Control"]);
        Assert.False(client.Aborted);
    }

    [Fact]
    public async Task StreamCutAfterTheCommitPoint_EndsWithAnInBandErrorAndAnAbort()
    {
        var first = Encoding.UTF8.GetBytes("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n");
        var (engine, snapshot) = Start("  p: { type: openai, base_url: \"http://p.test/v1\" }\n",
            _ => new ScriptedHandler(_ => Events(new BreakingStream(first))));
        var client = new PipeDownstream("chat/completions", """{"model":"p/m","stream":true}""");

        var outcome = await engine.ForwardAsync(snapshot, client.Request, client, CancellationToken.None);

        Assert.Equal(GatewayError.StreamInterrupted, outcome.Error);
        Assert.True(client.Aborted);
        var text = await client.ResponseTextAsync();
        Assert.StartsWith(Encoding.UTF8.GetString(first), text, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"stream_interrupted\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SuccessWithAnEmptyBody_IsAnUpstreamBadResponse_AndNothingIsSent()
    {
        var (engine, snapshot) = Start("  p: { type: openai, base_url: \"http://p.test/v1\", retries: 0 }\n",
            _ => new ScriptedHandler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) }));
        var client = new PipeDownstream("chat/completions", """{"model":"p/m"}""");

        var outcome = await engine.ForwardAsync(snapshot, client.Request, client, CancellationToken.None);

        Assert.Equal(GatewayError.UpstreamBadResponse, outcome.Error);
        Assert.Equal(0, client.Status);
        Assert.Equal("", await client.ResponseTextAsync());
    }

    [Theory]
    [InlineData("chat/../admin")]
    [InlineData("chat%2fcompletions")]
    [InlineData("")]
    public async Task UnsafePath_IsUnknownUrl_WithoutAnUpstreamCall(string path)
    {
        var handler = new ScriptedHandler(_ => Json("{}"));
        var (engine, snapshot) = Start("  p: { type: openai, base_url: \"http://p.test/v1\" }\n", _ => handler);

        var client = new PipeDownstream(path, """{"model":"p/m"}""");
        var outcome = await engine.ForwardAsync(snapshot, client.Request, client, CancellationToken.None);

        Assert.Equal(GatewayError.UnknownUrl, outcome.Error);
        Assert.Empty(handler.Seen);
    }
}
