using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>Every malformed request gets a clear 4xx in OpenAI's shape, and no provider is ever contacted.</summary>
public sealed class RequestValidationTests : IAsyncLifetime
{
    private MockProviderServer _mock = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _mock = await MockProviderServer.StartAsync();
        _gateway = await TestGateway.StartAsync($$"""
            server: { host: 127.0.0.1, port: 0, max_request_body_bytes: 65536 }
            providers:
              local: { type: openai, base_url: {{_mock.BaseUrl}}, api_key: "${TEST_PROVIDER_KEY}" }
              sleepy: { type: openai, base_url: http://127.0.0.1:9/v1, api_key: "${UNSET_VARIABLE_FOR_TEST}" }
            strategies:
              smart: { targets: [local/a] }
            """);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Assert.Empty(_mock.Requests);
        await _mock.DisposeAsync();
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"model\":}")]
    [InlineData("{\"model\":\"local/m\"} trailing")]
    [InlineData("{\"model\":\"local/m\",}")]
    [InlineData("{'model':'local/m'}")]
    [InlineData("{\"model\":\"local/m\" /* comment */}")]
    public async Task MalformedJson_Is400InvalidJson(string body)
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", body);
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
    }

    [Fact]
    public async Task DeepNesting_Is400InvalidJson_NotACrash()
    {
        var body = "{\"model\":\"local/m\",\"x\":" + new string('[', 200) + new string(']', 200) + "}";
        using var response = await _gateway.PostAsync("/v1/chat/completions", body);
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task InvalidUtf8_Is400InvalidJson()
    {
        var content = new ByteArrayContent([.. "{\"model\":\"local/m\",\"x\":\""u8, 0xC3, 0x28, .. "\"}"u8]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _gateway.Client.PostAsync("/v1/chat/completions", content);
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task EmptyBody_Is400EmptyBody()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", "");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "empty_body");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"local/m\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public async Task NonObjectBody_Is400InvalidBodyType(string body)
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", body);
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_body_type");
    }

    [Fact]
    public async Task MissingModel_Is400WithParamModel()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x","model":"local/m"}]}""");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "missing_required_parameter", "model");
    }

    [Theory]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("{\"name\":\"local/m\"}")]
    [InlineData("[\"local/m\"]")]
    [InlineData("true")]
    public async Task NonStringModel_Is400InvalidTypeWithParamModel(string model)
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", "{\"model\":" + model + "}");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_type", "model");
    }

    [Fact]
    public async Task EmptyModel_Is400MissingWithParamModel()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", """{"model":""}""");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "missing_required_parameter", "model");
    }

    [Theory]
    [InlineData("local/m\\r\\nX-Injected: 1")]
    [InlineData("local/m\\u001b[31m")]
    [InlineData("local/m?x=1")]
    [InlineData("local/m#frag")]
    [InlineData("local/ m")]
    public async Task UnsafeModelName_Is400InvalidModelName(string model)
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", "{\"model\":\"" + model + "\"}");
        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_model_name", "model");
        Assert.DoesNotContain("Injected", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooLongModelName_Is400InvalidModelName()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", "{\"model\":\"local/" + new string('m', 300) + "\"}");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_model_name", "model");
    }

    [Theory]
    [InlineData("{\"model\":\"local/a\",\"model\":\"local/b\"}")]
    [InlineData("{\"model\":\"local/a\",\"stream\":false,\"stream\":true}")]
    public async Task DuplicateModelOrStream_Is400DuplicateKey(string body)
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", body);
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "duplicate_key");
    }

    [Theory]
    [InlineData("\"true\"")]
    [InlineData("1")]
    public async Task NonBooleanStream_Is400InvalidTypeWithParamStream(string stream)
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", "{\"model\":\"local/m\",\"stream\":" + stream + "}");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_type", "stream");
    }

    [Fact]
    public async Task UnknownProvider_Is404ListingValidPrefixes()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", """{"model":"nope/gpt-4o"}""");
        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.NotFound, "model_not_found", "model");
        Assert.Contains("'nope'", message, StringComparison.Ordinal);
        Assert.Contains("local", message, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisabledProvider_Is404NamingTheVariableNotAValue()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", """{"model":"sleepy/gpt-4o"}""");
        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.NotFound, "model_not_found", "model");
        Assert.Contains("disabled", message, StringComparison.Ordinal);
        Assert.Contains("UNSET_VARIABLE_FOR_TEST", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelWithoutSlash_AndNoSuchStrategy_Is404ListingStrategies()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", """{"model":"gpt-4o"}""");
        var message = await OpenAiAssert.ErrorAsync(response, HttpStatusCode.NotFound, "model_not_found", "model");
        Assert.Contains("smart", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BodyOverLimit_WithContentLength_Is413()
    {
        using var response = await _gateway.PostAsync("/v1/chat/completions", "{\"model\":\"local/m\",\"x\":\"" + new string('x', 70_000) + "\"}");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "request_too_large");
    }

    [Fact]
    public async Task DeclaredLengthOverLimit_Is413_BeforeTheBodyIsSent()
    {
        // Raw bytes: the headers announce 100 MB and no body follows; the answer must not wait for it.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_gateway.BaseUrl.Host, _gateway.BaseUrl.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"));
        var reader = new StreamReader(stream, Encoding.ASCII);

        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal("HTTP/1.1 413 Payload Too Large", statusLine);
    }

    [Fact]
    public async Task BodyOverLimit_Chunked_Is413()
    {
        var payload = Encoding.UTF8.GetBytes("{\"model\":\"local/m\",\"x\":\"" + new string('x', 70_000) + "\"}");
        var content = new StreamContent(new MemoryStream(payload));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _gateway.Client.SendAsync(request);
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "request_too_large");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=latin1")]
    public async Task NonJsonContentType_Is415(string contentType)
    {
        var content = new StringContent("{\"model\":\"local/m\"}");
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await _gateway.Client.PostAsync("/v1/chat/completions", content);
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Theory]
    [InlineData("/v1/chat/completion")]
    [InlineData("/chat/completions")]
    [InlineData("/v2/chat/completions")]
    [InlineData("/v1/")]
    public async Task UnknownPath_Is404UnknownUrl(string path)
    {
        using var response = await _gateway.Client.GetAsync(path);
        if (path.StartsWith("/v1/chat", StringComparison.Ordinal))
        {
            // Under /v1/ a GET is a wrong verb, not an unknown URL.
            await OpenAiAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
            return;
        }
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.NotFound, "unknown_url");
    }

    [Fact]
    public async Task WrongVerb_Is405()
    {
        using var response = await _gateway.Client.DeleteAsync("/v1/chat/completions");
        await OpenAiAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }
}
