using System.Buffers;
using System.Text;
using Gateway.Core.Proxy;

namespace Gateway.Core.Tests;

public sealed class RequestInspectorTests
{
    [Theory]
    [InlineData("""{"model":"openai/gpt-4o"}""", "openai/gpt-4o", false)]
    [InlineData("""{"stream":true,"model":"a/b/c"}""", "a/b/c", true)]
    [InlineData("""{"messages":[{"model":"inner/x"}],"model":"outer/y","stream":null}""", "outer/y", false)]
    [InlineData("""  {"model" : "p/m" }  """, "p/m", false)]
    [InlineData("""{"model":"p\/m\u0031"}""", "p/m1", false)]
    public void Inspect_FindsTopLevelModelAndStream(string json, string model, bool stream)
    {
        var body = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json));
        var inspection = RequestInspector.Inspect(body);

        Assert.Equal(GatewayError.None, inspection.Error);
        Assert.Equal(stream, inspection.Stream);
        Span<byte> buffer = stackalloc byte[RequestInspector.MaxModelLength];
        int length = RequestInspector.GetModel(body, inspection, buffer);
        Assert.Equal(model, Encoding.UTF8.GetString(buffer[..length]));
    }

    [Fact]
    public void Inspect_ModelPosition_CoversExactlyTheRawValue()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"a":1,"model":"p\/m","b":2}""");
        var inspection = RequestInspector.Inspect(new ReadOnlySequence<byte>(bytes));

        Assert.Equal("p\\/m", Encoding.UTF8.GetString(bytes, (int)inspection.ModelValueStart, inspection.ModelValueLength));
        Assert.True(inspection.ModelIsEscaped);
    }

    [Theory]
    [InlineData("", GatewayError.EmptyBody)]
    [InlineData("   ", GatewayError.EmptyBody)]
    [InlineData("{", GatewayError.InvalidJson)]
    [InlineData("[1,2]", GatewayError.InvalidBodyType)]
    [InlineData("[1,", GatewayError.InvalidJson)]
    [InlineData("{}", GatewayError.MissingModel)]
    [InlineData("""{"model":1}""", GatewayError.InvalidModelType)]
    [InlineData("""{"model":"a/b","model":"c/d"}""", GatewayError.DuplicateKey)]
    [InlineData("""{"model":"a/b","stream":"yes"}""", GatewayError.InvalidStreamType)]
    [InlineData("""{"model":1,"x":}""", GatewayError.InvalidJson)]
    public void Inspect_ClassifiesBadBodies(string json, object expected) =>
        Assert.Equal((GatewayError)expected, RequestInspector.Inspect(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json))).Error);

    [Theory]
    [InlineData("""{"model":"a/b c"}""")]
    [InlineData("""{"model":"a/b\n"}""")]
    [InlineData("""{"model":"a/b\u0000"}""")]
    [InlineData("""{"model":"a/\"b"}""")]
    [InlineData("""{"model":"a/é"}""")]
    public void GetModel_RejectsUnsafeCharacters(string json)
    {
        var body = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json));
        var inspection = RequestInspector.Inspect(body);
        Span<byte> buffer = stackalloc byte[RequestInspector.MaxModelLength];
        Assert.Equal(-1, RequestInspector.GetModel(body, inspection, buffer));
    }

    [Fact]
    public void Inspect_GivesTheSameAnswer_WhereverTheBodyIsSplitIntoSegments()
    {
        // Kestrel hands over a body in as many segments as it arrived in: a split may fall inside the model value,
        // inside an escape sequence or inside a multi-byte character.
        var bytes = Encoding.UTF8.GetBytes("""{"messages":[{"content":"h\u00e9 é漢😀"}],"model":"p\/gpt\u002D4o","stream":true}""");
        Span<byte> buffer = stackalloc byte[RequestInspector.MaxModelLength];
        for (int split = 1; split < bytes.Length; split++)
        {
            var body = Segments.Split(bytes, split);
            var inspection = RequestInspector.Inspect(body);
            Assert.Equal(GatewayError.None, inspection.Error);
            Assert.True(inspection.Stream);
            int length = RequestInspector.GetModel(body, inspection, buffer);
            Assert.Equal("p/gpt-4o", Encoding.UTF8.GetString(buffer[..length]));
        }
    }

    [Fact]
    public void Inspect_RejectsInvalidUtf8_WhereverTheBodyIsSplit()
    {
        var bytes = (byte[])[.. "{\"model\":\"p/m\",\"x\":\"é"u8, 0xE6, 0xBC, .. "\"}"u8];
        for (int split = 1; split < bytes.Length; split++)
        {
            Assert.Equal(GatewayError.InvalidJson, RequestInspector.Inspect(Segments.Split(bytes, split)).Error);
        }
    }
}
