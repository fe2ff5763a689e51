using System.IO.Pipelines;
using Gateway.Core.Proxy;

namespace Gateway.Core.Tests;

public sealed class RequestBodyTests
{
    [Fact]
    public async Task Release_GivesThePipeBuffersBackAtOnce_AndTheLaterDisposeDoesNotAdvanceAgain()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("""{"model":"a/b","stream":true}"""u8.ToArray());
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAsync();
        var body = new RequestBody(pipe.Reader, read.Buffer);

        body.Release();

        // The bytes were consumed: the next read sees only the end of the body.
        var next = await pipe.Reader.ReadAsync();
        Assert.True(next.Buffer.IsEmpty);
        Assert.True(next.IsCompleted);
        pipe.Reader.AdvanceTo(next.Buffer.End);
        // A second AdvanceTo with no read in progress would throw.
        body.Dispose();
    }
}
