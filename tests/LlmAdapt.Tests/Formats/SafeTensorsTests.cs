using System.Buffers.Binary;
using System.Text;
using LlmAdapt.Formats;

namespace LlmAdapt.Tests.Formats;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task WriteThenRead_RoundTripsValuesShapesAndMetadata()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        var writer = new SafeTensorsWriter();
        var weights = Enumerable.Range(0, 6).Select(i => i * 0.5f - 1f).ToArray();
        writer.Add("h.0.attn.c_attn.weight", weights, [2, 3]);
        writer.Add("wte", new float[] { 1.5f, -2.25f }, [2], SafeTensorDType.F16);
        writer.Add("bf", new float[] { 3.140625f }, [1], SafeTensorDType.BF16);
        writer.Add("ids", new long[] { 7, -9 }, [2]);
        writer.Metadata["format"] = "pt";
        await writer.WriteAsync(path);

        using var reader = SafeTensorsReader.Open(path);
        Assert.Equal(weights, reader.ReadSingle("h.0.attn.c_attn.weight", [2, 3]));
        Assert.Equal(new[] { 1.5f, -2.25f }, reader.ReadSingle("wte"));
        Assert.Equal(3.140625f, reader.ReadSingle("bf")[0]);
        Assert.Equal(new long[] { 7, -9 }, reader.ReadInt64("ids"));
        Assert.Equal("pt", reader.Metadata["format"]);

        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(path).AsSpan(0, 8));
        Assert.Equal(0, (8 + headerLength) % 8);
    }

    [Fact]
    public async Task Read_WithWrongShape_NamesTensorAndBothShapes()
    {
        var path = Path.Combine(_dir, "m.safetensors");
        var writer = new SafeTensorsWriter();
        writer.Add("wpe", new float[12], [3, 4]);
        await writer.WriteAsync(path);

        using var reader = SafeTensorsReader.Open(path);
        var ex = Assert.Throws<InvalidDataFileException>(() => reader.ReadSingle("wpe", [4, 3]));
        Assert.Contains("'wpe'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 3]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,99]}}")]
    [InlineData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    public void Open_BadHeader_ThrowsNamingFile(string header)
    {
        var path = Path.Combine(_dir, "bad.safetensors");
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + headerBytes.Length + 16];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<InvalidDataFileException>(() => SafeTensorsReader.Open(path));
        Assert.Equal(path, ex.FilePath);
    }

    [Fact]
    public void Open_HeaderLengthBeyondFile_Throws()
    {
        var path = Path.Combine(_dir, "short.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataFileException>(() => SafeTensorsReader.Open(path));
        Assert.Contains("1000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_Cancelled_LeavesPreviousFileIntact()
    {
        var path = Path.Combine(_dir, "keep.safetensors");
        var first = new SafeTensorsWriter();
        first.Add("a", new float[] { 1 }, [1]);
        await first.WriteAsync(path);

        var second = new SafeTensorsWriter();
        second.Add("a", new float[] { 2 }, [1]);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WriteAsync(path, cts.Token));

        using var reader = SafeTensorsReader.Open(path);
        Assert.Equal(1f, reader.ReadSingle("a")[0]);
        Assert.Single(Directory.GetFiles(_dir));
    }
}
