using System.Runtime.CompilerServices;
using Gateway.MockProvider;
using Gateway.Server.Tests.Infrastructure;

namespace Gateway.Server.Tests;

/// <summary>Alone: the runtime raises an unobserved task exception in every gateway alive at the time, and other tests assert no error lines.</summary>
[CollectionDefinition(nameof(UnobservedExceptionTests), DisableParallelization = true)]
public sealed class UnobservedExceptionCollection;

[Collection(nameof(UnobservedExceptionTests))]
public sealed class UnobservedExceptionTests
{
    [Fact]
    public async Task AFaultedTaskNobodyAwaited_IsLoggedAsABug_AndTheGatewayKeepsServing()
    {
        await using var mock = await MockProviderServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Config(("local", mock.BaseUrl)));
        var logged = gateway.Logs.WaitForAsync(
            l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("unobserved task exception", StringComparison.Ordinal) && l.Contains("canary-unobserved", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));

        Abandon();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        await logged;
        using var response = await gateway.PostAsync("/v1/chat/completions", """{"model":"local/m"}""");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    // Not inlined, so that no local of the test method keeps the task reachable.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Abandon() => _ = Task.FromException(new InvalidOperationException("canary-unobserved"));
}
