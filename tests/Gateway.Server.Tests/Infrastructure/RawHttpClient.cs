using System.Net.Sockets;
using System.Text;

namespace Gateway.Server.Tests.Infrastructure;

/// <summary>
/// Sends one HTTP/1.1 request with a request target written byte for byte (HttpClient would normalize it) and reads
/// the answer until the server closes: for hostile request targets and header sets.
/// </summary>
public static class RawHttpClient
{
    public sealed record RawResponse(int Status, string Head, string Body);

    public static async Task<RawResponse> SendAsync(Uri server, string method, string target, string body, params string[] headers)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.Host, server.Port);
        var request = new StringBuilder();
        request.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(server.Authority).Append("\r\n");
        request.Append("Content-Type: application/json\r\n");
        request.Append("Content-Length: ").Append(Encoding.UTF8.GetByteCount(body)).Append("\r\n");
        if (!Array.Exists(headers, h => h.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)))
        {
            request.Append("Connection: close\r\n");
        }
        foreach (var header in headers)
        {
            request.Append(header).Append("\r\n");
        }
        request.Append("\r\n").Append(body);
        await socket.SendAsync(Encoding.Latin1.GetBytes(request.ToString()), SocketFlags.None);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        // Until the server closes, or the head and Content-Length bytes of body have arrived (a kept-alive connection).
        while (!IsComplete(received.GetBuffer().AsSpan(0, (int)received.Length)))
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            if (n == 0)
            {
                break;
            }
            received.Write(buffer, 0, n);
        }
        var text = Encoding.UTF8.GetString(received.ToArray());
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? text : text[..end];
        int status = int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        return new RawResponse(status, head, end < 0 ? "" : text[(end + 4)..]);
    }

    private static bool IsComplete(ReadOnlySpan<byte> received)
    {
        var text = Encoding.Latin1.GetString(received);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }
        foreach (var line in text[..end].Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return received.Length - end - 4 >= int.Parse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return false;
    }
}
