using System.Net.Sockets;
using System.Text.Json;
using Gateway.Core.Config;

namespace Gateway.Core.Proxy;

/// <summary>How an upstream attempt failed, in the chain's terms: a failed send classified, an error body's code read.</summary>
internal static class UpstreamFailures
{
    /// <summary>A send that failed before any response: its error, failure class and a short reason safe for clients and logs.</summary>
    public static (GatewayError Error, FailureClasses Class, string Reason) OfSend(Exception e, TimeSpan headerTimeout)
    {
        if (e is OperationCanceledException)
        {
            return (GatewayError.UpstreamTimeout, FailureClasses.Timeout, $"did not answer within {Durations.Format(headerTimeout)}");
        }
        if (e is HttpRequestException http)
        {
            if (http.InnerException is TimeoutException || http.InnerException is OperationCanceledException)
            {
                return (GatewayError.UpstreamTimeout, FailureClasses.Timeout, "could not be connected to in time");
            }
            return http.HttpRequestError switch
            {
                HttpRequestError.NameResolutionError => (GatewayError.UpstreamUnreachable, FailureClasses.Connect, "is unreachable (host name not resolved)"),
                HttpRequestError.ConnectionError when http.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused }
                    => (GatewayError.UpstreamUnreachable, FailureClasses.Connect, "is unreachable (connection refused)"),
                HttpRequestError.ConnectionError => (GatewayError.UpstreamUnreachable, FailureClasses.Connect, "is unreachable (connection failed)"),
                HttpRequestError.SecureConnectionError => (GatewayError.UpstreamUnreachable, FailureClasses.Connect, "is unreachable (TLS handshake failed)"),
                HttpRequestError.ResponseEnded => (GatewayError.UpstreamBadResponse, FailureClasses.Connect, "closed the connection without answering"),
                HttpRequestError.InvalidResponse or HttpRequestError.HttpProtocolError => (GatewayError.UpstreamBadResponse, FailureClasses.ServerError, "sent an invalid HTTP response"),
                _ when http.InnerException is IOException => (GatewayError.UpstreamBadResponse, FailureClasses.Connect, "reset the connection before answering"),
                _ => (GatewayError.UpstreamUnreachable, FailureClasses.Connect, "could not be reached"),
            };
        }
        return (GatewayError.UpstreamUnreachable, FailureClasses.Connect, "could not be reached");
    }

    /// <summary>error.code of an OpenAI-shaped error body, when it is a plain identifier.</summary>
    public static string? ErrorCode(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isError = reader.ValueTextEquals("error"u8);
                reader.Read();
                if (!isError || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isCode = reader.ValueTextEquals("code"u8);
                    reader.Read();
                    if (isCode && reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= 64)
                    {
                        return reader.GetString();
                    }
                    reader.Skip();
                }
                return null;
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }
}
