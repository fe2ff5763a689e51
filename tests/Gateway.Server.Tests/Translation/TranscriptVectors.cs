using System.Text;
using Gateway.Core.Providers.Translation;
using Gateway.MockProvider;

namespace Gateway.Server.Tests.Translation;

/// <summary>
/// Runs a provider transcript (tests/Fixtures/translation) through a translator without sockets: the transcript's
/// writes become the upstream's reads, exactly as cut. Its output is compared byte for byte with the vector's
/// <c>.expected</c> file (a broken stream ends with the line the relay's error event stands for); set
/// GATEWAY_WRITE_VECTORS=1 to write missing expected files for review.
/// </summary>
internal static class TranscriptVectors
{
    public const long Created = 1700000000;

    public static string Directory(string type) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "translation", type);

    public static IEnumerable<object[]> Names(string type, bool stream) =>
        System.IO.Directory.GetFiles(Directory(type), "*.jsonl").Order(StringComparer.Ordinal)
            .Select(path => (Name: Path.GetFileNameWithoutExtension(path), Transcript: Transcript.Load(path)))
            .Where(v => v.Transcript.Status == 200 && IsEventStream(v.Transcript) == stream)
            .Select(v => new object[] { v.Name });

    public static bool IsEventStream(Transcript transcript) =>
        transcript.Headers.Any(h => h.Key.Equals("content-type", StringComparison.OrdinalIgnoreCase) && h.Value.StartsWith("text/event-stream", StringComparison.Ordinal));

    public static Transcript Load(string type, string name) => Transcript.Load(Path.Combine(Directory(type), name + ".jsonl"));

    /// <summary>The translated stream as text, reads cut as the upstream's <paramref name="pieces"/>; a failure ends it with an error line.</summary>
    public static async Task<string> TranslateAsync(Func<Stream, Stream> translate, IEnumerable<byte[]> pieces)
    {
        await using var stream = translate(new PieceStream(pieces));
        var output = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                output.Write(buffer, 0, read);
            }
        }
        catch (IOException e)
        {
            output.Write(Encoding.UTF8.GetBytes($"data: {{\"error\":{{\"code\":\"stream_interrupted\",\"message\":\"{e.Message}\"}}}}\n\n"));
        }
        return Encoding.UTF8.GetString(output.ToArray());
    }

    public static void AssertExpected(string type, string name, string actual)
    {
        var path = Path.Combine(Directory(type), name + ".expected");
        var source = Path.Combine(SourceDirectory(), type, name + ".expected");
        if (!File.Exists(path))
        {
            if (Environment.GetEnvironmentVariable("GATEWAY_WRITE_VECTORS") == "1")
            {
                File.WriteAllText(source, actual);
            }
            Assert.Fail($"no expected output for vector {type}/{name}");
        }
        Assert.Equal(File.ReadAllText(path), actual);
    }

    private static string SourceDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !System.IO.Directory.Exists(Path.Combine(dir.FullName, "tests", "Fixtures")))
        {
            dir = dir.Parent;
        }
        return Path.Combine(dir!.FullName, "tests", "Fixtures", "translation");
    }

    /// <summary>Every split of <paramref name="body"/> into two reads (each byte offset), plus one read per byte.</summary>
    public static IEnumerable<byte[][]> Splits(byte[] body)
    {
        for (int at = 1; at < body.Length; at++)
        {
            yield return [body[..at], body[at..]];
        }
        yield return body.Select(b => new[] { b }).ToArray();
    }

    /// <summary>An upstream body whose reads return the given pieces, one per read (a zero-byte read waits for nothing).</summary>
    private sealed class PieceStream(IEnumerable<byte[]> pieces) : ReadOnlyStream
    {
        private readonly IEnumerator<byte[]> _pieces = pieces.GetEnumerator();
        private byte[] _current = [];
        private int _offset;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.Length == 0)
            {
                return ValueTask.FromResult(0);
            }
            while (_offset == _current.Length)
            {
                if (!_pieces.MoveNext())
                {
                    return ValueTask.FromResult(0);
                }
                _current = _pieces.Current;
                _offset = 0;
            }
            int count = Math.Min(buffer.Length, _current.Length - _offset);
            _current.AsSpan(_offset, count).CopyTo(buffer.Span);
            _offset += count;
            return ValueTask.FromResult(count);
        }
    }
}
