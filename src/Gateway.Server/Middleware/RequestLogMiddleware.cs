using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Core.Config;
using Gateway.Core.Proxy;
using Gateway.Server.Http;

namespace Gateway.Server.Middleware;

/// <summary>
/// request_log: one line per request when it ends — id, method, path, key name, requested model, served target,
/// status, attempts, bytes in/out, total and time-to-first-byte ms, and how Core ended it — as JSON or key=value
/// text, through the "Gateway.Requests" logger. Names and numbers only: no bodies, no secrets.
/// </summary>
internal static partial class RequestLogMiddleware
{
    public static Func<RequestDelegate, RequestDelegate> Create(ILogger logger, TimeProvider time) => next => context =>
        GatewayRequest.Of(context).Snapshot.Config.RequestLog is { } config ? LogAsync(next, context, config.Format, logger, time) : next(context);

    private static async Task LogAsync(RequestDelegate next, HttpContext context, RequestLogFormat format, ILogger logger, TimeProvider time)
    {
        try
        {
            await next(context);
        }
        finally
        {
            LogRequest(logger, Format(context, GatewayRequest.Of(context), format, time));
        }
    }

    private static string Format(HttpContext context, GatewayRequest request, RequestLogFormat format, TimeProvider time)
    {
        var exchange = request.Exchange;
        long now = time.GetTimestamp();
        double totalMs = time.GetElapsedTime(exchange.StartTimestamp, now).TotalMilliseconds;
        double? ttfbMs = exchange.FirstByteTimestamp == 0 ? null : time.GetElapsedTime(exchange.StartTimestamp, exchange.FirstByteTimestamp).TotalMilliseconds;
        int status = context.Response.StatusCode;
        var error = request.Outcome == GatewayError.None ? null : GatewayErrors.Describe(request.Outcome).Code;
        if (format == RequestLogFormat.Text)
        {
            var text = new StringBuilder(256);
            text.Append("request_id=").Append(context.TraceIdentifier);
            AppendEscaped(text.Append(" method="), context.Request.Method);
            AppendEscaped(text.Append(" path="), context.Request.Path.Value);
            AppendEscaped(text.Append(" key="), request.Caller?.Name ?? "-");
            AppendEscaped(text.Append(" model="), exchange.RequestedModel ?? "-");
            AppendEscaped(text.Append(" served_by="), exchange.ServedBy ?? "-");
            text.Append(" status=").Append(status)
                .Append(" attempts=").Append(exchange.Attempts)
                .Append(" bytes_in=").Append(exchange.BytesIn)
                .Append(" bytes_out=").Append(exchange.BytesOut)
                .Append(" total_ms=").Append(totalMs.ToString("0.###", CultureInfo.InvariantCulture))
                .Append(" ttfb_ms=").Append(ttfbMs?.ToString("0.###", CultureInfo.InvariantCulture) ?? "-")
                .Append(" cost_usd=").Append(exchange.CostUsd is { } textCost ? Gateway.Core.Spend.CostCalculator.Format(textCost) : "-");
            if (error is not null)
            {
                text.Append(" error=").Append(error);
            }
            return text.ToString();
        }
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("request_id", context.TraceIdentifier);
            json.WriteString("method", context.Request.Method);
            json.WriteString("path", context.Request.Path.Value);
            WriteNullable(json, "key", request.Caller?.Name);
            WriteNullable(json, "model", exchange.RequestedModel);
            WriteNullable(json, "served_by", exchange.ServedBy);
            json.WriteNumber("status", status);
            json.WriteNumber("attempts", exchange.Attempts);
            json.WriteNumber("bytes_in", exchange.BytesIn);
            json.WriteNumber("bytes_out", exchange.BytesOut);
            json.WriteNumber("total_ms", Math.Round(totalMs, 3));
            if (ttfbMs is { } ttfb)
            {
                json.WriteNumber("ttfb_ms", Math.Round(ttfb, 3));
            }
            else
            {
                json.WriteNull("ttfb_ms");
            }
            json.WritePropertyName("cost_usd");
            if (exchange.CostUsd is { } cost)
            {
                json.WriteRawValue(Gateway.Core.Spend.CostCalculator.Format(cost), skipInputValidation: true);
            }
            else
            {
                json.WriteNullValue();
            }
            WriteNullable(json, "error", error);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// A value of a text line, escaped as JSON escapes it (control characters as \uXXXX, backslash and quote
    /// escaped) plus the space, which separates fields here: a decoded path can hold CR, ESC or " status=200",
    /// and must not forge a log line, a field or a terminal escape.
    /// </summary>
    private static void AppendEscaped(StringBuilder text, string? value)
    {
        foreach (var c in value ?? "")
        {
            switch (c)
            {
                case '\\':
                    text.Append("\\\\");
                    break;
                case '"':
                    text.Append("\\\"");
                    break;
                case <= ' ' or (>= '\u007f' and <= '\u009f') or '\u2028' or '\u2029':
                    text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    [LoggerMessage(110, LogLevel.Information, "{Line}")]
    private static partial void LogRequest(ILogger logger, string line);
}
