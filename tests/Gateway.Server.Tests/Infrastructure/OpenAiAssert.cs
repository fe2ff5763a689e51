using System.Net;
using System.Text.Json;

namespace Gateway.Server.Tests.Infrastructure;

public static class OpenAiAssert
{
    /// <summary>Asserts an OpenAI-shaped gateway error and returns its message.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string? param = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.Contains("X-Request-Id"));
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        // The type is the error table's for that status and code (GatewayErrors, the README's table).
        var described = Enum.GetValues<Gateway.Core.Proxy.GatewayError>().Select(Gateway.Core.Proxy.GatewayErrors.Describe)
            .Where(d => d.Status == (int)status && d.Code == code).Select(d => d.Type).Distinct().ToList();
        Assert.Equal(Assert.Single(described), error.GetProperty("type").GetString());
        var actualParam = error.GetProperty("param");
        if (param is null)
        {
            Assert.Equal(JsonValueKind.Null, actualParam.ValueKind);
        }
        else
        {
            Assert.Equal(param, actualParam.GetString());
        }
        var message = error.GetProperty("message").GetString()!;
        Assert.DoesNotContain(TestGateway.ProviderKey, body, StringComparison.Ordinal);
        Assert.DoesNotContain(TestGateway.ClientKey, body, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", message, StringComparison.Ordinal);
        return message;
    }
}
