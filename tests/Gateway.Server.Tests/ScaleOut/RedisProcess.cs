using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>
/// A real redis-server on a free loopback port, without persistence, started and stopped by its PID (never by name).
/// build.sh installs Debian's redis-server when it is missing.
/// </summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private Process? _process;

    private RedisProcess(int port) => Port = port;

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    public static async Task<RedisProcess> StartAsync(int? port = null)
    {
        var redis = new RedisProcess(port ?? FreePort());
        await redis.RestartAsync();
        return redis;
    }

    /// <summary>Starts (again, on the same port) and waits until it answers PING.</summary>
    public async Task RestartAsync()
    {
        var start = new ProcessStartInfo(Locate())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no" })
        {
            start.ArgumentList.Add(argument);
        }
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await PingAsync())
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new InvalidOperationException($"redis-server did not start on port {Port}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL: the server is gone at once, connections reset.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGSTOP / SIGCONT: connections stay open, nothing answers (a partition, a paused container).</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process!.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>Runs one command through redis-cli and returns its raw output.</summary>
    public async Task<string> CliAsync(params string[] command)
    {
        var start = new ProcessStartInfo(Path.Combine(Path.GetDirectoryName(Locate())!, "redis-cli")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "--raw" }.Concat(command))
        {
            start.ArgumentList.Add(argument);
        }
        using var cli = Process.Start(start)!;
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return output;
    }

    /// <summary>How many times Redis ran these commands (INFO commandstats: a script's inner calls count too).</summary>
    public async Task<long> CallsAsync(params string[] commands)
    {
        long calls = 0;
        foreach (var line in (await CliAsync("INFO", "commandstats")).Split('\n'))
        {
            foreach (var command in commands)
            {
                if (line.StartsWith("cmdstat_" + command + ":", StringComparison.Ordinal))
                {
                    calls += long.Parse(line.Split("calls=")[1].Split(',')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        return calls;
    }

    /// <summary>Script calls, the gateway's admissions among them (with its flushes and heartbeats).</summary>
    public Task<long> ScriptCallsAsync() => CallsAsync("evalsha", "eval");

    /// <summary>The gateway key's GCRA TAT for a limit ("rpm", "tpm"), µs of Redis time; 0 while it has none.</summary>
    public async Task<double> TatAsync(string limit)
    {
        var key = (await CliAsync("KEYS", "*:" + limit)).Trim();
        var value = key.Length == 0 ? "" : (await CliAsync("GET", key)).Trim();
        return value.Length == 0 ? 0 : double.Parse(value, CultureInfo.InvariantCulture);
    }

    /// <summary>The max_concurrent leases the gateway key holds.</summary>
    public async Task<long> LeasesAsync()
    {
        var key = (await CliAsync("KEYS", "*:conc")).Trim();
        return key.Length == 0 ? 0 : long.Parse((await CliAsync("ZCARD", key)).Trim(), CultureInfo.InvariantCulture);
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return read > 0 && buffer[0] == (byte)'+';
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static string Locate() =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("redis-server is not installed: ./build.sh test installs it (apt-get install -y redis-server)");

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            await ResumeAsync();
        }
        await KillAsync();
        _process?.Dispose();
    }
}
