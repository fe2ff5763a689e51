using System.Text;
using System.Text.Json;

namespace Gateway.MockProvider;

/// <summary>
/// A provider's answer as exact bytes with timing, from a <c>.jsonl</c> file: the first line is
/// <c>{"status":200,"headers":{"content-type":"text/event-stream"}}</c>, each further line one write,
/// <c>{"raw":"event: ping\n\n","delay_ms":0}</c> (text) or <c>{"b64":"..."}</c> (bytes: a UTF-8 character cut in
/// two), and <c>{"close":true}</c> drops the connection instead of ending the response. Written synthetically from
/// the providers' documented shapes.
/// </summary>
public sealed record Transcript(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, IReadOnlyList<TranscriptWrite> Writes, bool Abort)
{
    public static Transcript Load(string path) => Parse(File.ReadAllLines(path), path);

    public static Transcript Parse(IEnumerable<string> lines, string name = "transcript")
    {
        int status = 200;
        var headers = new List<KeyValuePair<string, string>>();
        var writes = new List<TranscriptWrite>();
        bool abort = false, first = true;
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (first)
            {
                first = false;
                status = root.GetProperty("status").GetInt32();
                if (root.TryGetProperty("headers", out var h))
                {
                    foreach (var header in h.EnumerateObject())
                    {
                        headers.Add(new(header.Name, header.Value.GetString()!));
                    }
                }
                continue;
            }
            if (root.TryGetProperty("close", out var close) && close.GetBoolean())
            {
                abort = true;
                continue;
            }
            int delay = root.TryGetProperty("delay_ms", out var d) ? d.GetInt32() : 0;
            byte[] bytes = root.TryGetProperty("b64", out var b64)
                ? Convert.FromBase64String(b64.GetString()!)
                : Encoding.UTF8.GetBytes(root.GetProperty("raw").GetString()!);
            writes.Add(new TranscriptWrite(bytes, delay));
        }
        if (first)
        {
            throw new InvalidDataException($"{name}: empty transcript");
        }
        return new Transcript(status, headers, writes, abort);
    }

    /// <summary>Every write's bytes, in order.</summary>
    public byte[] Body()
    {
        var all = new MemoryStream();
        foreach (var write in Writes)
        {
            all.Write(write.Bytes);
        }
        return all.ToArray();
    }

    public async Task ReplayAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = Status;
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }
        await response.StartAsync(context.RequestAborted);
        foreach (var write in Writes)
        {
            if (write.DelayMs > 0)
            {
                await Task.Delay(write.DelayMs, context.RequestAborted);
            }
            await response.Body.WriteAsync(write.Bytes, context.RequestAborted);
            await response.Body.FlushAsync(context.RequestAborted);
        }
        if (Abort)
        {
            context.Abort();
        }
    }
}

public sealed record TranscriptWrite(byte[] Bytes, int DelayMs);
