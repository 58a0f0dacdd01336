using LlmAdapt.Training.Heads;

namespace LlmAdapt.Training.Tests.Heads;

public sealed class LabelledTextReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-reader-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public async Task Sst2Tsv_ReadsByName_WithLineOrigins()
    {
        var examples = await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/test.tsv"), "sentence", "label");
        Assert.Equal(872, examples.Count);
        Assert.All(examples, e => Assert.True(e.Label is "0" or "1"));
        Assert.EndsWith("test.tsv:2", examples[0].Origin, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_WithQuotes_AndColumnsByIndex()
    {
        var path = Write("d.csv", "id,text,label\n1,\"Hello, world\",pos\n2,\"He said \"\"no\"\"\",neg\n");
        var examples = await LabelledTextReader.ReadAsync(path, "1", "2");
        Assert.Equal("Hello, world", examples[0].Input);
        Assert.Equal("He said \"no\"", examples[1].Input);
        Assert.Equal("neg", examples[1].Label);
    }

    [Fact]
    public async Task NoHeader_TakesIndices()
    {
        var path = Write("d.tsv", "great film\t1\nawful\t0\n");
        var examples = await LabelledTextReader.ReadAsync(path, "0", "1", hasHeader: false);
        Assert.Equal(2, examples.Count);
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => LabelledTextReader.ReadAsync(path, "text", "1", hasHeader: false));
        Assert.Contains("0-based index", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownColumn_ListsTheHeader()
    {
        var path = Write("d.tsv", "sentence\tlabel\nok\t1\n");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => LabelledTextReader.ReadAsync(path, "text", "label"));
        Assert.Contains("no text column 'text'; the header has: sentence, label", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ex.LineNumber);
    }

    [Fact]
    public async Task EmptyFile_AndHeaderOnly_AreErrors()
    {
        var empty = await Assert.ThrowsAsync<InvalidDataFileException>(() => LabelledTextReader.ReadAsync(Write("e.tsv", string.Empty), "sentence", "label"));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);
        var headerOnly = await Assert.ThrowsAsync<InvalidDataFileException>(() => LabelledTextReader.ReadAsync(Write("h.tsv", "sentence\tlabel\n"), "sentence", "label"));
        Assert.Contains("no examples", headerOnly.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShortRow_AndEmptyLabel_NameTheLine()
    {
        var path = Write("s.tsv", "sentence\tlabel\nfine\t1\nno label here\n");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => LabelledTextReader.ReadAsync(path, "sentence", "label"));
        Assert.Equal(3, ex.LineNumber);
        var blank = Write("b.tsv", "sentence\tlabel\nfine\t \n");
        ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => LabelledTextReader.ReadAsync(blank, "sentence", "label"));
        Assert.Contains("label is empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_NumbersAsLabels_AndMalformedLine()
    {
        var good = Write("g.jsonl", "{\"text\":\"good\",\"stars\":5}\n{\"text\":\"bad\",\"stars\":1}\n");
        var examples = await LabelledTextReader.ReadAsync(good, "text", "stars");
        Assert.Equal(new[] { "5", "1" }, examples.Select(e => e.Label));
        var bad = Write("b.jsonl", "{\"text\":\"good\",\"stars\":5}\n{\"text\":\"bad\",\n");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => LabelledTextReader.ReadAsync(bad, "text", "stars"));
        Assert.Equal(2, ex.LineNumber);
    }
}
