using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Server.Tests.Infrastructure;

/// <summary>A TCP listener that answers every connection with fixed bytes, then closes: for malformed and truncated responses.</summary>
public sealed class RawUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private int _connections;

    private RawUpstream(TcpListener listener, byte[] response)
        : this(listener, [response], TimeSpan.Zero)
    {
    }

    private RawUpstream(TcpListener listener, byte[][] pieces, TimeSpan gap)
    {
        _listener = listener;
        _loop = Task.Run(() => ServeAsync(pieces, gap));
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1");

    public int Connections => Volatile.Read(ref _connections);

    /// <param name="response">Bytes sent after the request headers were read; null sends nothing and just closes.</param>
    public static Task<RawUpstream> StartAsync(string? response)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return Task.FromResult(new RawUpstream(listener, response is null ? [] : Encoding.ASCII.GetBytes(response)));
    }

    /// <summary>Sends the response in separate TCP writes, <paramref name="gap"/> apart: events and characters split across reads.</summary>
    public static Task<RawUpstream> StartPiecesAsync(TimeSpan gap, params byte[][] pieces)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return Task.FromResult(new RawUpstream(listener, pieces, gap));
    }

    private async Task ServeAsync(byte[][] pieces, TimeSpan gap)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                var buffer = new byte[65536];
                var received = new StringBuilder();
                while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (n == 0)
                    {
                        break;
                    }
                    received.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                socket.NoDelay = true;
                for (int i = 0; i < pieces.Length; i++)
                {
                    if (i > 0 && gap > TimeSpan.Zero)
                    {
                        await Task.Delay(gap, _stop.Token);
                    }
                    if (pieces[i].Length > 0)
                    {
                        await socket.SendAsync(pieces[i], SocketFlags.None, _stop.Token);
                    }
                }
                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>A loopback port with nothing listening: connections to it are refused.</summary>
    public static Uri RefusingBaseUrl()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/v1");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
