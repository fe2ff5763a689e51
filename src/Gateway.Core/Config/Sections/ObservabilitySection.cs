namespace Gateway.Core.Config.Sections;

/// <summary>request_log and telemetry.</summary>
internal static class ObservabilitySection
{
    internal static RequestLogConfig? ReadRequestLog(YamlMappingReader? log)
    {
        if (log is null)
        {
            return null;
        }
        var format = log.Choice("format", RequestLogFormat.Json, text => $"expected json or text, got '{text}'",
            ("json", RequestLogFormat.Json), ("text", RequestLogFormat.Text));
        log.ReportUnknownKeys();
        return format is { } chosen ? new RequestLogConfig(chosen) : null;
    }

    internal static TelemetryConfig? ReadTelemetry(YamlMappingReader? telemetry)
    {
        if (telemetry is null)
        {
            return null;
        }
        var d = TelemetryConfig.Default;
        var metrics = telemetry.Boolean("metrics") ?? d.Metrics;
        var traces = telemetry.Boolean("traces") ?? d.Traces;
        double ratio = d.SampleRatio;
        var ratioText = telemetry.String("sample_ratio");
        if (ratioText is not null && (!double.TryParse(ratioText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out ratio) || ratio is < 0 or > 1))
        {
            telemetry.Error("sample_ratio", telemetry.Take("sample_ratio"), $"expected a number from 0 to 1, got '{ratioText}'");
            ratio = d.SampleRatio;
        }
        Uri? endpoint = null;
        var endpointText = telemetry.String("otlp_endpoint");
        if (endpointText is not null && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            telemetry.Error("otlp_endpoint", telemetry.Take("otlp_endpoint"), "expected an absolute http(s) URL such as http://127.0.0.1:4317");
            endpoint = null;
        }
        var http = telemetry.Choice("otlp_protocol", false, text => $"expected grpc or http, got '{text}'", ("grpc", false), ("http", true));
        telemetry.ReportUnknownKeys();
        return new TelemetryConfig(metrics, traces, ratio, endpoint, http ?? false);
    }
}
