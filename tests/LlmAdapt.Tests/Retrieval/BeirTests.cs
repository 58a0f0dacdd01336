using LlmAdapt.Retrieval.Evaluation;

namespace LlmAdapt.Tests.Retrieval;

public sealed class BeirTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-beir-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Load_Cranfield_HasItsDocumentsQueriesAndJudgments()
    {
        var dataset = await BeirDataset.LoadAsync(TestData.PathOf("retrieval/cranfield/beir"));
        Assert.Equal(1400, dataset.Corpus.Count);
        Assert.Equal(225, dataset.JudgedQueryIds.Count);
        Assert.Equal(1612, dataset.Judgments.Values.Sum(j => j.Count));
        Assert.Equal(3, dataset.Judgments["1"]["184"]);
    }

    [Fact]
    public async Task Load_MissingFile_NamesIt()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "corpus.jsonl"), "{\"_id\":\"1\",\"text\":\"a\"}\n");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => BeirDataset.LoadAsync(_dir));
        Assert.EndsWith("queries.jsonl", ex.FilePath, StringComparison.Ordinal);
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => BeirDataset.LoadAsync(Path.Combine(_dir, "nope")));
    }

    [Theory]
    [InlineData("corpus.jsonl", "{\"_id\":\"1\",\"text\":\"a\"}\n{\"_id\":\"2\",\"text\":\"b\"\n", 2, "not valid JSON")]
    [InlineData("corpus.jsonl", "{\"_id\":\"1\",\"text\":\"a\"}\n\n{\"text\":\"b\"}\n", 3, "'_id' is missing")]
    [InlineData("queries.jsonl", "[1,2]\n", 1, "expected a JSON object")]
    [InlineData("qrels/test.tsv", "query-id\tcorpus-id\tscore\n1\t1\t1\n1\t2\n", 3, "expected 3 tab-separated fields")]
    [InlineData("qrels/test.tsv", "1\t1\thigh\n", 1, "not an integer")]
    public async Task Load_MalformedLine_NamesFileAndLine(string file, string content, int line, string problem)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "qrels"));
        await File.WriteAllTextAsync(Path.Combine(_dir, "corpus.jsonl"), "{\"_id\":\"1\",\"title\":\"t\",\"text\":\"a\"}\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, "queries.jsonl"), "{\"_id\":\"1\",\"text\":\"q\"}\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, "qrels", "test.tsv"), "1\t1\t1\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, file), content);

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => BeirDataset.LoadAsync(_dir));
        Assert.Equal(line, ex.LineNumber);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Contains($":{line}:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_MatchHandComputedValues()
    {
        var judgments = new Dictionary<string, int> { ["a"] = 3, ["b"] = 1, ["c"] = 2, ["z"] = 0 };
        string[] ranked = ["x", "a", "z", "c", "y"];

        // DCG@5 = 3/log2(3) + 2/log2(5); ideal = 3/log2(2) + 2/log2(3) + 1/log2(4).
        var dcg = (3 / Math.Log2(3)) + (2 / Math.Log2(5));
        var ideal = 3 + (2 / Math.Log2(3)) + 0.5;
        Assert.Equal(dcg / ideal, RetrievalMetrics.Ndcg(ranked, judgments, 5), 10);
        Assert.Equal(2 / 3.0, RetrievalMetrics.Recall(ranked, judgments, 5), 10);
        Assert.Equal(2 / 5.0, RetrievalMetrics.Precision(ranked, judgments, 5), 10);
        Assert.Equal(0.5, RetrievalMetrics.ReciprocalRank(ranked, judgments, 5), 10);
        Assert.Equal(0, RetrievalMetrics.ReciprocalRank(ranked, judgments, 1), 10);
        Assert.Equal(((1 / 2.0) + (2 / 4.0)) / 3, RetrievalMetrics.AveragePrecision(ranked, judgments, 5), 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrievalMetrics.Ndcg(ranked, judgments, 0));
    }
}
