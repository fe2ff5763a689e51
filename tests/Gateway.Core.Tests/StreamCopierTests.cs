using System.IO.Pipelines;
using System.Text;
using Gateway.Core.Providers.Translation;
using Gateway.Core.Proxy;

namespace Gateway.Core.Tests;

public sealed class StreamCopierTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Copy_DeliversEveryByte_AndTheTeeSeesTheSame()
    {
        var payload = new byte[100_000];
        new Random(42).NextBytes(payload);
        var client = new Pipe();
        var tee = new RecordingTee();

        var received = ReadAllAsync(client.Reader);

        var (result, bytes) = await StreamCopier.CopyAsync(new MemoryStream(payload), client.Writer, tee, false, CancellationToken.None);
        await client.Writer.CompleteAsync();

        Assert.Equal(CopyResult.Success, result);
        Assert.Equal(payload.Length, bytes);
        Assert.Equal(payload, await received.WaitAsync(s_timeout));
        Assert.Equal(payload, tee.Bytes.ToArray());
    }

    [Fact]
    public async Task Copy_FlushesEachChunk_BeforeWaitingForTheNext()
    {
        var upstream = new Pipe();
        var client = new Pipe();
        var copy = StreamCopier.CopyAsync(upstream.Reader.AsStream(), client.Writer, null, false, CancellationToken.None).AsTask();

        await upstream.Writer.WriteAsync("data: one\n\n"u8.ToArray());
        Assert.Equal("data: one\n\n", await ReadChunkAsync(client.Reader));

        await upstream.Writer.WriteAsync("data: two\n\n"u8.ToArray());
        Assert.Equal("data: two\n\n", await ReadChunkAsync(client.Reader));

        await upstream.Writer.CompleteAsync();
        Assert.Equal(CopyResult.Success, (await copy.WaitAsync(s_timeout)).Result);
    }

    [Theory]
    [InlineData(true, 3)]
    [InlineData(false, 1)]
    public async Task Copy_EventStreamsFlushEveryRead_OtherBodiesWhenTheNextReadWouldWait(bool flushEachRead, int expectedFlushes)
    {
        // Three chunks that are all ready at once, as when several events arrive in one TCP segment.
        var upstream = new ChunkedStream(["data: 1\n\n"u8.ToArray(), "data: 2\n\n"u8.ToArray(), "data: 3\n\n"u8.ToArray()]);
        var client = new CountingWriter(new Pipe(new PipeOptions(pauseWriterThreshold: 0)).Writer);

        var (result, _) = await StreamCopier.CopyAsync(upstream, client, null, flushEachRead, CancellationToken.None);

        Assert.Equal(CopyResult.Success, result);
        Assert.Equal(expectedFlushes, client.Flushes);
    }

    [Fact]
    public async Task Copy_UpstreamFailsMidway_ReportsUpstreamError_AfterDeliveringWhatArrived()
    {
        var client = new Pipe();
        var upstream = new FailingStream("data: partial\n\n"u8.ToArray());

        var (result, bytes) = await StreamCopier.CopyAsync(upstream, client.Writer, null, false, CancellationToken.None);

        Assert.Equal(CopyResult.UpstreamError, result);
        Assert.Equal(15, bytes);
        Assert.Equal("data: partial\n\n", await ReadChunkAsync(client.Reader));
    }

    [Fact]
    public async Task Copy_ClientGone_ReportsClientGone()
    {
        var upstream = new Pipe();
        var client = new Pipe();
        await client.Reader.CompleteAsync();
        var copy = StreamCopier.CopyAsync(upstream.Reader.AsStream(), client.Writer, null, false, CancellationToken.None).AsTask();

        await upstream.Writer.WriteAsync("data: one\n\n"u8.ToArray());

        Assert.Equal(CopyResult.ClientGone, (await copy.WaitAsync(s_timeout)).Result);
    }

    [Fact]
    public async Task Copy_Cancelled_ReportsClientGone()
    {
        var upstream = new Pipe();
        var client = new Pipe();
        using var cancel = new CancellationTokenSource();
        var copy = StreamCopier.CopyAsync(upstream.Reader.AsStream(), client.Writer, null, false, cancel.Token).AsTask();

        await cancel.CancelAsync();

        Assert.Equal(CopyResult.ClientGone, (await copy.WaitAsync(s_timeout)).Result);
    }

    private static async Task<string> ReadChunkAsync(PipeReader reader)
    {
        var result = await reader.ReadAsync().AsTask().WaitAsync(s_timeout);
        var text = Encoding.UTF8.GetString(result.Buffer);
        reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        var output = new MemoryStream();
        await reader.CopyToAsync(output);
        return output.ToArray();
    }

    /// <summary>Serves its chunks one read at a time, each immediately available.</summary>
    private sealed class ChunkedStream(byte[][] chunks) : ReadOnlyStream
    {
        private int _next;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty || _next == chunks.Length)
            {
                return ValueTask.FromResult(0);
            }
            var chunk = chunks[_next++];
            chunk.CopyTo(buffer);
            return ValueTask.FromResult(chunk.Length);
        }
    }

    private sealed class CountingWriter(PipeWriter inner) : PipeWriter
    {
        public int Flushes { get; private set; }

        public override void Advance(int bytes) => inner.Advance(bytes);
        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushes++;
            return inner.FlushAsync(cancellationToken);
        }
    }

    private sealed class RecordingTee : IBodyTee
    {
        public MemoryStream Bytes { get; } = new();

        public void Append(ReadOnlySpan<byte> chunk) => Bytes.Write(chunk);
    }

    /// <summary>Returns its data, then fails the way a reset upstream connection does.</summary>
    private sealed class FailingStream(byte[] data) : ReadOnlyStream
    {
        private bool _served;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return ValueTask.FromResult(0);
            }
            if (_served)
            {
                return ValueTask.FromException<int>(new IOException("connection reset"));
            }
            _served = true;
            data.CopyTo(buffer);
            return ValueTask.FromResult(data.Length);
        }
    }
}
