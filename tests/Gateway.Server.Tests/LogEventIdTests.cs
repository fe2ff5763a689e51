using System.Reflection;

namespace Gateway.Server.Tests;

public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLogMessage_HasItsOwnEventId()
    {
        var messages = new[] { typeof(Gateway.Core.Proxy.ProxyEngine).Assembly, typeof(Gateway.Server.Hosting.GatewayHost).Assembly }
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        Assert.True(messages.Count > 20);
        var duplicates = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method.DeclaringType!.Name + "." + m.Method.Name))}").ToList();
        Assert.True(duplicates.Count == 0, string.Join("\n", duplicates));
    }
}
