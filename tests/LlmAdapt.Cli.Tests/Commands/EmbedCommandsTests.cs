using System.Text.Json;
using LlmAdapt.Onnx.Embeddings;

namespace LlmAdapt.Cli.Tests.Commands;

public sealed class EmbedCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-embed-cli-").FullName;

    [Fact]
    public async Task Embed_TextLines_WritesOneEmbeddingPerLineAndReportsJson()
    {
        var input = Path.Combine(_dir, "texts.txt");
        var output = Path.Combine(_dir, "out.jsonl");
        string[] texts = ["a gorgeous , witty , seductive movie .", "", "it 's just filler ."];
        await File.WriteAllLinesAsync(input, texts);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await CliApp.RunAsync(["embed", "--in", input, "--out", output, "--json"], stdout, stderr);

        Assert.True(code == CliApp.Success, stderr.ToString());
        var lines = await File.ReadAllLinesAsync(output);
        Assert.Equal(3, lines.Length);
        using var generator = OnnxEmbeddingGenerator.CreateDefault();
        var expected = await generator.GenerateAsync(texts);
        for (var i = 0; i < 3; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            Assert.Equal(i + 1, doc.RootElement.GetProperty("line").GetInt32());
            var vector = doc.RootElement.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(384, vector.Length);
            Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(expected[i].Vector.Span, vector) > 0.99999);
        }

        var report = JsonDocument.Parse(stdout.ToString().TrimEnd().Split('\n')[^1]).RootElement;
        Assert.Equal(3, report.GetProperty("texts").GetInt32());
        Assert.Equal(expected.Usage!.InputTokenCount, report.GetProperty("tokens").GetInt64());
        Assert.True(report.GetProperty("seconds").GetDouble() > 0);
        Assert.True(report.GetProperty("texts_per_second").GetDouble() > 0);
    }

    [Fact]
    public async Task Embed_JsonlWithoutTheField_FailsNamingFileAndLine()
    {
        var input = Path.Combine(_dir, "docs.jsonl");
        var output = Path.Combine(_dir, "out.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"text\": \"first\"}", "{\"body\": \"second\"}"]);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await CliApp.RunAsync(["embed", "--in", input, "--out", output, "--text-field", "text"], stdout, stderr);

        Assert.Equal(CliApp.Failure, code);
        Assert.Contains($"{input}:2", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task Embed_BinaryInput_IsRefusedWithOneLine_AndWritesNothing()
    {
        var input = Path.Combine(_dir, "model.bin");
        var output = Path.Combine(_dir, "out.jsonl");
        await File.WriteAllBytesAsync(input, [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00, 0xFF, 0xFE, 0x0A, 0x00]);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await CliApp.RunAsync(["embed", "--in", input, "--out", output], stdout, stderr);

        Assert.Equal(CliApp.Failure, code);
        var error = stderr.ToString().Trim();
        Assert.Single(error.Split('\n'));
        Assert.Contains(input, error, StringComparison.Ordinal);
        Assert.Contains("binary", error, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
