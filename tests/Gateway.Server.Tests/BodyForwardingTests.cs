using System.Net;
using System.Text;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

public sealed class BodyForwardingTests
{
    [Fact]
    public async Task Body_IsByteIdenticalExceptModelValue()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        // Odd whitespace, unicode, escapes, nested objects, a "model" key inside a nested object, numbers in every form.
        const string before = "{ \"messages\" : [ {\"role\":\"user\",\"content\":\"h\\u00e9llo \\\"w\\\" \u00e9\u6f22\ud83d\ude00\"} ],\n\t\"tools\":[{\"model\":\"not/this\"}], \"model\" :  ";
        const string after = " ,\"temperature\":1.50e0,\"n\":1 , \"stream\":false}  \n";
        var body = before + "\"local/qwen2.5:7b-instruct\"" + after;

        using var response = await gateway.PostAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Encoding.UTF8.GetBytes(before + "\"qwen2.5:7b-instruct\"" + after), mock.LastRequest.Body);
    }

    [Fact]
    public async Task EscapedModelValue_IsUnescapedForRoutingAndRewrittenBare()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"\u006cocal\/gpt\u002D4o","x":1}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"model":"gpt-4o","x":1}""", mock.LastRequest.BodyText);
        Assert.Equal("local/gpt-4o", response.Headers.GetValues("X-Gateway-Model").Single());
    }

    [Fact]
    public async Task EscapedPropertyName_IsRecognizedAsModel()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"mod\u0065l":"local/m"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"mod\u0065l":"m"}""", mock.LastRequest.BodyText);
    }

    [Fact]
    public async Task LargeBody_NearTheLimit_IsForwardedIntact()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        var filler = new string('x', 60_000);
        var body = $$"""{"messages":[{"role":"user","content":"{{filler}}"}],"model":"local/m"}""";

        using var response = await gateway.PostAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Replace("local/m", "m", StringComparison.Ordinal), mock.LastRequest.BodyText);
        Assert.Equal(mock.LastRequest.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), mock.LastRequest.Headers["Content-Length"]);
    }

    [Fact]
    public async Task BodyLargerThanThePipeHoldLimit_IsForwardedIntact()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(
            TestGateway.Config(("local", mock.BaseUrl)).Replace("max_request_body_bytes: 65536", "max_request_body_bytes: 2097152", StringComparison.Ordinal));
        var filler = string.Concat(Enumerable.Repeat("0123456789abcdef", 700_000 / 16));
        var body = $$"""{"messages":[{"role":"user","content":"{{filler}}"}],"model":"local/m","stream":false}""";

        using var response = await gateway.PostAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Replace("local/m", "m", StringComparison.Ordinal), mock.LastRequest.BodyText);
    }

    [Fact]
    public async Task Response_IsPassedThroughByteForByte_WithAllowedHeadersOnly()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        using var direct = new HttpClient();
        var expected = await (await direct.PostAsync(mock.BaseUrl + "/chat/completions", new StringContent("""{"model":"m"}"""))).Content.ReadAsByteArrayAsync();

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");

        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(expected.Length, response.Content.Headers.ContentLength);
        Assert.Equal("99", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.False(response.Headers.Contains("Server"));
    }
}
