using LlmAdapt.Prompting;

namespace LlmAdapt.Tests.Prompting;

public sealed class PromptExampleFileTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"llmadapt-examples-{Guid.NewGuid():N}.jsonl");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public async Task Read_ParsesInputsOutputsAndMetadata_SkippingBlankLines()
    {
        await File.WriteAllTextAsync(_path, "{\"input\": \"2+2\", \"output\": \"4\", \"source\": \"gsm\"}\n\n{\"input\": \"is it?\", \"output\": true}\n");

        var examples = await PromptExampleFile.ReadAsync(_path);

        Assert.Equal([new PromptExample("2+2", "4") { Metadata = examples[0].Metadata }, new PromptExample("is it?", "true")], examples);
        Assert.Equal("gsm", examples[0].Metadata!["source"]);
    }

    [Theory]
    [InlineData("{\"input\": \"a\"}", ":1: missing \"output\"")]
    [InlineData("{\"input\": 3, \"output\": \"b\"}", ":1: \"input\" is a Number")]
    [InlineData("[1, 2]", ":1: expected a JSON object")]
    [InlineData("{\"input\": \"a\", \"output\": \"b\"}\n{oops", ":2: not valid JSON")]
    [InlineData("\n\n", "holds no examples")]
    public async Task Read_BadLines_NameTheFileAndLine(string text, string expected)
    {
        await File.WriteAllTextAsync(_path, text);

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => PromptExampleFile.ReadAsync(_path));

        Assert.Equal(_path, ex.FilePath);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
