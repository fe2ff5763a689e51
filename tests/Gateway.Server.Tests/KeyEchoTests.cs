using System.Collections.Concurrent;
using System.Text;
using Gateway.Core.ResponseHooks;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>
/// Providers echo (parts of) keys in error bodies and sometimes headers. What the provider sends back is masked
/// before the client, the logs or the completion log see it: its api_key and its configured header values.
/// </summary>
public sealed class KeyEchoTests
{
    private const string HeaderSecret = "hdr-secret-0b9e77a1";

    private sealed class BodyRecorder : IResponseHook
    {
        public ConcurrentQueue<string> Bodies { get; } = new();

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ResponseHook OnResponse(ResponseStart response) => new(WantsBody: true, Completion: completed =>
        {
            Bodies.Enqueue(Encoding.UTF8.GetString(completed.Body.Span));
            Done.TrySetResult();
            return ValueTask.CompletedTask;
        });
    }

    private static string Answer(int status, string body, string extraHeader = "") =>
        $"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n{extraHeader}Connection: close\r\n\r\n{body}";

    public static TheoryData<int, string> EchoingErrors => new()
    {
        { 401, $$$"""{"error":{"message":"Incorrect API key provided: {{{TestGateway.ProviderKey}}}.","type":"invalid_request_error","code":"invalid_api_key"}}""" },
        { 400, $$$"""{"error":{"message":"bad header X-Custom: {{{HeaderSecret}}} and key {{{TestGateway.ProviderKey}}}{{{TestGateway.ProviderKey}}}"}}""" },
        { 403, $$$"""{"error":{"message":"key={{{TestGateway.ProviderKey}}}"}}""" },
        { 500, $$$"""{"error":{"message":"upstream said {{{TestGateway.ProviderKey}}}"}}""" },
        { 429, $$$"""{"error":{"message":"rate limited for {{{TestGateway.ProviderKey}}}"}}""" },
        { 404, TestGateway.ProviderKey },
    };

    [Theory]
    [MemberData(nameof(EchoingErrors))]
    public async Task ErrorBody_ThatEchoesTheProvidersKey_IsMasked_ForClientAndCompletionLog(int status, string body)
    {
        await using var upstream = await RawUpstream.StartAsync(Answer(status, body, $"openai-model: m-{TestGateway.ProviderKey}\r\n"));
        var recorder = new BodyRecorder();
        var yaml = TestGateway.Config("", ("raw", upstream.BaseUrl, $"retries: 0, discover_models: false, headers: {{ X-Custom: {HeaderSecret} }}"));
        await using var gateway = await TestGateway.StartAsync(yaml, responseMiddleware: [recorder]);

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"raw/m"}""");
        var text = await response.Content.ReadAsStringAsync();
        await recorder.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var expected = body.Replace(TestGateway.ProviderKey, "***", StringComparison.Ordinal).Replace(HeaderSecret, "***", StringComparison.Ordinal);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(expected, text);
        Assert.Equal(Encoding.UTF8.GetByteCount(expected), response.Content.Headers.ContentLength);
        Assert.Equal("m-***", response.Headers.GetValues("openai-model").Single());
        Assert.Equal(expected, Assert.Single(recorder.Bodies));
        Assert.DoesNotContain(HeaderSecret, gateway.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SuccessBody_IsPassedOnByteForByte_ButItsHeadersAreMasked()
    {
        var body = $$$"""{"choices":[{"message":{"content":"the key {{{TestGateway.ProviderKey}}}"}}]}""";
        await using var upstream = await RawUpstream.StartAsync(Answer(200, body, $"x-ratelimit-limit-requests: {TestGateway.ProviderKey}\r\n"));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("raw", upstream.BaseUrl, "discover_models: false")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"raw/m"}""");

        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        Assert.Equal("***", response.Headers.GetValues("x-ratelimit-limit-requests").Single());
    }

    [Fact]
    public async Task OversizedErrorBody_IsRefusedAs502_NeverPassedOnUnmasked()
    {
        var body = new string('x', 1024 * 1024) + TestGateway.ProviderKey;
        await using var upstream = await RawUpstream.StartAsync(Answer(400, body));
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config("", ("raw", upstream.BaseUrl, "discover_models: false")));

        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"raw/m"}""");

        var message = await OpenAiAssert.ErrorAsync(response, System.Net.HttpStatusCode.BadGateway, "upstream_bad_response");
        Assert.Contains("error body over", message, StringComparison.Ordinal);
    }
}
