namespace Gateway.Server.Hosting;

/// <summary>Logging: one console line per message from Information (Microsoft.* from Warning), or the embedder's own.</summary>
internal static class LoggingSetup
{
    private const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel";

    public static void Configure(WebApplicationBuilder builder, GatewayHostOptions options)
    {
        builder.Logging.ClearProviders();
        // Any enabled level on this category makes ASP.NET Core start an Activity and a log scope for every
        // request; the gateway has its own request log and spans, so it is off (measured: CPU per request).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        LogLevel kestrelMinimum;
        if (options.ConfigureLogging is { } configureLogging)
        {
            configureLogging(builder.Logging);
            // A host that brings its own logging (the tests) sees Kestrel from Debug, as before this rule existed.
            kestrelMinimum = LogLevel.Debug;
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            kestrelMinimum = LogLevel.Warning;
        }
        // Kestrel reports every request that failed after its response started as an application error; the
        // gateway ends such responses on purpose (see ResponseAbortedException) and logs real errors itself
        // (ErrorBarrierMiddleware), so these reports are noise. Only the most specific rule for a category applies,
        // so this one is a rule for Kestrel's categories with their minimum level, not a global filter (which the
        // "Microsoft" rule above would override: the fault soak found these lines in the console).
        builder.Services.Configure<LoggerFilterOptions>(filters => filters.Rules.Add(new LoggerFilterRule(
            null, KestrelCategory, null,
            (_, category, level) => level >= kestrelMinimum && !(category == KestrelCategory && level == LogLevel.Error))));
    }
}
