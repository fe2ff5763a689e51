using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

// tcp-delay --listen PORT --target PORT --delay-us N: every chunk is forwarded N µs after it arrived, each way.
// Reads never wait for writes (a queue per direction keeps pipelined traffic flowing); sub-millisecond waits spin,
// because timers do not go below a millisecond.
var options = args.Chunk(2).ToDictionary(p => p[0], p => p[1]);
int listenPort = int.Parse(options["--listen"], CultureInfo.InvariantCulture);
int targetPort = int.Parse(options["--target"], CultureInfo.InvariantCulture);
long delayTicks = long.Parse(options["--delay-us"], CultureInfo.InvariantCulture) * Stopwatch.Frequency / 1_000_000;

var listener = new TcpListener(IPAddress.Loopback, listenPort);
listener.Start();
Console.WriteLine($"tcp-delay: {listenPort} -> {targetPort}, {options["--delay-us"]} us each way");
while (true)
{
    var client = await listener.AcceptTcpClientAsync();
    var server = new TcpClient { NoDelay = true };
    client.NoDelay = true;
    await server.ConnectAsync(IPAddress.Loopback, targetPort);
    _ = Pump(client.GetStream(), server.GetStream());
    _ = Pump(server.GetStream(), client.GetStream());
}

async Task Pump(NetworkStream from, NetworkStream to)
{
    var queue = Channel.CreateUnbounded<(byte[] Bytes, int Length, long Due)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    var writer = Task.Run(async () =>
    {
        await foreach (var (bytes, length, due) in queue.Reader.ReadAllAsync())
        {
            long wait = due - Stopwatch.GetTimestamp();
            if (wait > Stopwatch.Frequency / 500)
            {
                await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency) - TimeSpan.FromMilliseconds(1));
            }
            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.SpinWait(20);
            }
            await to.WriteAsync(bytes.AsMemory(0, length));
        }
    });
    try
    {
        while (true)
        {
            var buffer = new byte[16 * 1024];
            int read = await from.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }
            queue.Writer.TryWrite((buffer, read, Stopwatch.GetTimestamp() + delayTicks));
        }
    }
    catch (IOException)
    {
    }
    queue.Writer.TryComplete();
    await writer;
}
