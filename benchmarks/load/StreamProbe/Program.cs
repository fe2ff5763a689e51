using System.Diagnostics;
using System.Globalization;
using System.Text;

// stream-probe ttft --url URL --body FILE --connections C --seconds S
//   Streams as many requests as it can on C connections for S seconds; prints p50/p99 of the time to the first
//   data event (TTFT), and of each chunk's delivery delay: arrival time minus the "mock_sent" stamp the mock
//   provider put in it (same machine, same monotonic clock), which leaves the mock's own timer jitter out.
// stream-probe idle --url URL --body FILE --streams N --hold-seconds S
//   Opens N streams, reads their first event, prints "READY" and holds them open for S seconds.
var mode = args[0];
string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
var url = new Uri(Arg("--url", "http://127.0.0.1:8080/v1/chat/completions"));
var body = File.ReadAllBytes(Arg("--body", "stream.json"));
using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = int.MaxValue }) { Timeout = Timeout.InfiniteTimeSpan };

HttpRequestMessage NewRequest()
{
    var content = new ByteArrayContent(body);
    content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
    return new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
}

if (mode == "idle")
{
    int streams = int.Parse(Arg("--streams", "2000"), CultureInfo.InvariantCulture);
    var open = new List<(HttpResponseMessage, Stream)>();
    int failed = 0;
    for (int batch = 0; batch < streams; batch += 100)
    {
        var starts = Enumerable.Range(0, Math.Min(100, streams - batch)).Select(async _ =>
        {
            try
            {
                var response = await client.SendAsync(NewRequest(), HttpCompletionOption.ResponseHeadersRead);
                var stream = await response.Content.ReadAsStreamAsync();
                var buffer = new byte[4096];
                _ = await stream.ReadAsync(buffer);
                return ((HttpResponseMessage, Stream)?)(response, stream);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref failed);
                return null;
            }
        });
        foreach (var result in await Task.WhenAll(starts))
        {
            if (result is { } r)
            {
                open.Add(r);
            }
        }
    }
    Console.WriteLine($"READY open={open.Count} failed={failed}");
    await Task.Delay(TimeSpan.FromSeconds(double.Parse(Arg("--hold-seconds", "5"), CultureInfo.InvariantCulture)));
    foreach (var (response, _) in open)
    {
        response.Dispose();
    }
    return 0;
}

int connections = int.Parse(Arg("--connections", "1"), CultureInfo.InvariantCulture);
var duration = TimeSpan.FromSeconds(double.Parse(Arg("--seconds", "8"), CultureInfo.InvariantCulture));
var ttfts = new List<double>[connections];
var gaps = new List<double>[connections];
var firstDelays = new List<double>[connections];
int errors = 0;
long requests = 0;
var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
var workers = Enumerable.Range(0, connections).Select(async worker =>
{
    ttfts[worker] = [];
    gaps[worker] = [];
    firstDelays[worker] = [];
    var buffer = new byte[16384];
    while (Stopwatch.GetTimestamp() < stopAt)
    {
        try
        {
            long start = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(NewRequest(), HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref errors);
                continue;
            }
            await using var stream = await response.Content.ReadAsStreamAsync();
            long previous = 0;
            bool done = false;
            var pending = new StringBuilder();
            while (!done)
            {
                int n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    break;
                }
                long now = Stopwatch.GetTimestamp();
                pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
                int events = 0;
                int index;
                while ((index = pending.ToString().IndexOf("\n\n", StringComparison.Ordinal)) >= 0)
                {
                    var evt = pending.ToString(0, index);
                    pending.Remove(0, index + 2);
                    events++;
                    done |= evt.Contains("[DONE]", StringComparison.Ordinal);
                    int stamp = evt.IndexOf("\"mock_sent\":", StringComparison.Ordinal);
                    if (stamp >= 0)
                    {
                        var digits = evt.AsSpan(stamp + 12);
                        digits = digits[..digits.IndexOfAnyExceptInRange('0', '9')];
                        double delay = Stopwatch.GetElapsedTime(long.Parse(digits, CultureInfo.InvariantCulture), now).TotalMilliseconds;
                        (previous == 0 && events == 1 ? firstDelays[worker] : gaps[worker]).Add(delay);
                    }
                }
                if (events > 0)
                {
                    if (previous == 0)
                    {
                        ttfts[worker].Add(Stopwatch.GetElapsedTime(start, now).TotalMilliseconds);
                    }
                    previous = now;
                }
            }
            if (!done)
            {
                Interlocked.Increment(ref errors);
            }
            Interlocked.Increment(ref requests);
        }
        catch (Exception)
        {
            Interlocked.Increment(ref errors);
        }
    }
}).ToArray();
await Task.WhenAll(workers);

static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
var allTtft = ttfts.SelectMany(x => x).Order().ToList();
var allDelays = gaps.SelectMany(x => x).Order().ToList();
var allFirst = firstDelays.SelectMany(x => x).Order().ToList();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"requests={requests} errors={errors} ttft_p50_ms={Percentile(allTtft, 0.5):F3} ttft_p99_ms={Percentile(allTtft, 0.99):F3} first_delay_p50_ms={Percentile(allFirst, 0.5):F3} first_delay_p99_ms={Percentile(allFirst, 0.99):F3} chunk_delay_p50_ms={Percentile(allDelays, 0.5):F3} chunk_delay_p99_ms={Percentile(allDelays, 0.99):F3}"));
return 0;
