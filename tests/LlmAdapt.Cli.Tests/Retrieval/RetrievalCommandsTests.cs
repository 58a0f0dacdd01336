using System.Text.Json;

namespace LlmAdapt.Cli.Tests.Retrieval;

public sealed class RetrievalCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-cli-rag-").FullName;

    public RetrievalCommandsTests()
    {
        var docs = Path.Combine(_dir, "docs");
        Directory.CreateDirectory(Path.Combine(docs, "guide"));
        File.WriteAllText(Path.Combine(docs, "guide", "install.md"), "# Install\n\nRun the installer with administrator rights.\n\n## Proxy\n\nSet HTTPS_PROXY before installing behind a corporate proxy.\n");
        File.WriteAllText(Path.Combine(docs, "holidays.txt"), "Employees receive twenty-five days of paid holiday each year.\n\nUnused days carry over until March.");
        File.WriteAllText(Path.Combine(docs, "empty.md"), "   \n");
        File.WriteAllBytes(Path.Combine(docs, "image.txt"), [0x89, 0x50, 0x4E, 0x47, 0x00, 0x1A, 0xFF, 0xFE]);
    }

    private string Docs => Path.Combine(_dir, "docs");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task IndexBuildThenAsk_FindsThePassageWithItsCitation()
    {
        var index = Path.Combine(_dir, "docs.llmidx");
        var (code, output, error) = await CliRunner.RunAsync("index", "build", "--docs", Docs, "--out", index, "--embeddings", "none", "--json");
        Assert.Equal(0, code);
        Assert.Contains("skipped", error, StringComparison.Ordinal);
        Assert.Contains("empty.md: empty", error, StringComparison.Ordinal);
        Assert.Contains("image.txt: binary", error, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.Equal(2, json.RootElement.GetProperty("files").GetInt32());
            Assert.Equal(2, json.RootElement.GetProperty("skipped").GetInt32());
        }

        (code, output, _) = await CliRunner.RunAsync("ask", "How many holiday days do employees get?", "--index", index, "--k", "1", "--json");
        Assert.Equal(0, code);
        Assert.StartsWith("[1] holidays.txt", output, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            var passage = json.RootElement.GetProperty("passages")[0];
            Assert.Equal("holidays.txt", passage.GetProperty("source").GetString());
            Assert.Contains("twenty-five days", passage.GetProperty("text").GetString(), StringComparison.Ordinal);
        }

        (code, output, _) = await CliRunner.RunAsync("ask", "proxy settings", "--index", index, "--k", "1");
        Assert.Equal(0, code);
        Assert.Contains("guide/install.md › Install > Proxy", output, StringComparison.Ordinal);

        (code, output, _) = await CliRunner.RunAsync("ask", "is it the", "--index", index);
        Assert.Equal(0, code);
        Assert.Contains("only stop words", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AskDocs_BuildsWithTheLocalModelOnceThenUsesTheCache()
    {
        var (code, output, error) = await CliRunner.RunAsync("ask", "Which variable configures the corporate proxy?", "--docs", Docs, "--k", "2");
        Assert.Equal(0, code);
        Assert.Contains("built the index", error, StringComparison.Ordinal);
        Assert.StartsWith("[1] guide/install.md", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Docs, ".llmadapt-cache", "index.llmidx")));

        (code, var again, error) = await CliRunner.RunAsync("ask", "Which variable configures the corporate proxy?", "--docs", Docs, "--k", "2");
        Assert.Equal(0, code);
        Assert.DoesNotContain("built the index", error, StringComparison.Ordinal);
        Assert.Equal(output, again);

        // Changing a document invalidates the cache.
        File.AppendAllText(Path.Combine(Docs, "holidays.txt"), "\nNew rule.");
        (_, _, error) = await CliRunner.RunAsync("ask", "proxy", "--docs", Docs, "--embeddings", "none");
        Assert.Contains("built the index", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokenizer_IsTheNamedModelFoldersOrTheDocumentedDefault()
    {
        // Chunks measured with the tiny GPT-2 model folder's own tokenizer.json, or by default with gpt-4o's.
        var folder = TestData.ModelPath("onnxruntime-genai/tiny-random-gpt2-fp32");
        var byFolder = Path.Combine(_dir, "gpt2.llmidx");
        var (code, output, error) = await CliRunner.RunAsync("index", "build", "--docs", Docs, "--out", byFolder, "--embeddings", "none", "--max-tokens", "8", "--overlap", "0", "--tokenizer", folder, "--json");
        Assert.True(code == 0, error);
        using (var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.Equal(Path.GetFullPath(folder), json.RootElement.GetProperty("tokenizer").GetString());
        }

        (code, output, _) = await CliRunner.RunAsync("index", "build", "--docs", Docs, "--out", Path.Combine(_dir, "o200k.llmidx"), "--embeddings", "none", "--max-tokens", "8", "--overlap", "0", "--json");
        Assert.Equal(0, code);
        using (var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.Equal("gpt-4o", json.RootElement.GetProperty("tokenizer").GetString());
        }

        // A chat model with no tokenizer known here: the default is used and said so.
        (code, _, error) = await CliRunner.RunAsync("ask", "proxy", "--index", byFolder, "--model", "llama3.2");
        Assert.Equal(0, code);
        Assert.Contains("no tokenizer is known for --model 'llama3.2'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_WithPrincipal_SeesOnlyWhatTheAccessListAllows()
    {
        var index = Path.Combine(_dir, "hr.llmidx");
        Assert.Equal(0, (await CliRunner.RunAsync("index", "build", "--docs", Docs, "--out", index, "--embeddings", "none", "--allow", "hr")).ExitCode);
        var (code, output, _) = await CliRunner.RunAsync("ask", "holiday days", "--index", index, "--principal", "bob", "--group", "engineering");
        Assert.Equal(0, code);
        Assert.Contains("No passage found", output, StringComparison.Ordinal);
        (code, output, _) = await CliRunner.RunAsync("ask", "holiday days", "--index", index, "--principal", "alice", "--group", "hr");
        Assert.Equal(0, code);
        Assert.StartsWith("[1] holidays.txt", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvalRetrieval_Bm25OnCranfield_PrintsMetricsAndJson()
    {
        var (code, output, _) = await CliRunner.RunAsync("eval", "retrieval", "--beir", TestData.PathOf("retrieval/cranfield/beir"), "--retriever", "bm25", "--k", "10", "--json");
        Assert.Equal(0, code);
        Assert.Contains("queries        225", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
        Assert.InRange(json.RootElement.GetProperty("ndcg").GetDouble(), 0.358, 1);
        Assert.True(json.RootElement.GetProperty("queries_per_second").GetDouble() > 0);
    }

    [Fact]
    public async Task EvalRetrieval_DenseInt8_UsesInt8EmbeddingsAndStaysNearFloat32()
    {
        // A sample of Cranfield: its first 10 queries with a judged document, every document they judge, plus the
        // first 40 of the corpus (deterministic, no seed needed).
        var source = TestData.PathOf("retrieval/cranfield/beir");
        var qrels = File.ReadLines(Path.Combine(source, "qrels", "test.tsv")).Skip(1).Select(l => l.Split('\t')).Where(p => p.Length >= 3 && p[2] != "0").ToList();
        var queryIds = qrels.Select(p => p[0]).Distinct().Take(10).ToHashSet();
        var docIds = qrels.Where(p => queryIds.Contains(p[0])).Select(p => p[1]).ToHashSet();
        var beir = Path.Combine(_dir, "cranfield-sample");
        Directory.CreateDirectory(Path.Combine(beir, "qrels"));
        string Id(string line) => JsonDocument.Parse(line).RootElement.GetProperty("_id").GetString()!;
        File.WriteAllLines(Path.Combine(beir, "corpus.jsonl"), File.ReadLines(Path.Combine(source, "corpus.jsonl")).Where((l, i) => i < 40 || docIds.Contains(Id(l))));
        File.WriteAllLines(Path.Combine(beir, "queries.jsonl"), File.ReadLines(Path.Combine(source, "queries.jsonl")).Where(l => queryIds.Contains(Id(l))));
        File.WriteAllLines(Path.Combine(beir, "qrels", "test.tsv"), ["query-id\tcorpus-id\tscore", .. qrels.Where(p => queryIds.Contains(p[0])).Select(p => string.Join('\t', p))]);
        var cache = Path.Combine(_dir, "embeddings");

        var results = new Dictionary<string, JsonElement>();
        foreach (var precision in new[] { "Float32", "Int8" })
        {
            var (code, output, error) = await CliRunner.RunAsync("eval", "retrieval", "--beir", beir, "--retriever", "dense", "--precision", precision, "--cache", cache, "--json");
            Assert.True(code == 0, error);
            Assert.Contains($"embeddings     {precision}", output, StringComparison.Ordinal);
            results[precision] = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement.Clone();
        }

        Assert.Equal("Int8", results["Int8"].GetProperty("embedding_precision").GetString());
        // Two cache files: int8 vectors are not served from the float cache.
        Assert.Equal(2, Directory.GetFiles(cache, "*.embcache").Length);
        var (fp32, int8) = (results["Float32"].GetProperty("ndcg").GetDouble(), results["Int8"].GetProperty("ndcg").GetDouble());
        Assert.InRange(fp32, 0.1, 1);
        Assert.InRange(int8, fp32 - 0.03, fp32 + 0.03);
    }

    [Theory]
    [InlineData("eval", "retrieval", "--beir", "/no/such/beir")]
    [InlineData("index", "build", "--docs", "/no/such/docs", "--out", "/tmp/x.llmidx")]
    [InlineData("ask", "q", "--index", "/no/such/index.llmidx")]
    public async Task MissingInput_IsOneLineErrorNamingIt(params string[] args)
    {
        var (code, _, error) = await CliRunner.RunAsync(args);
        Assert.Equal(1, code);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains("/no/such/", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvalRetrieval_MalformedBeirLine_NamesFileAndLine()
    {
        var beir = Path.Combine(_dir, "beir");
        Directory.CreateDirectory(Path.Combine(beir, "qrels"));
        File.WriteAllText(Path.Combine(beir, "corpus.jsonl"), "{\"_id\":\"1\",\"text\":\"wing\"}\n{oops\n");
        File.WriteAllText(Path.Combine(beir, "queries.jsonl"), "{\"_id\":\"1\",\"text\":\"wing\"}\n");
        File.WriteAllText(Path.Combine(beir, "qrels", "test.tsv"), "1\t1\t1\n");
        var (code, _, error) = await CliRunner.RunAsync("eval", "retrieval", "--beir", beir);
        Assert.Equal(1, code);
        Assert.Contains("corpus.jsonl:2:", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ask", "q", "--docs", "DOCS", "--k", "0")]
    [InlineData("ask", "q")]
    [InlineData("eval", "retrieval", "--beir", "DOCS", "--k", "-1")]
    public async Task BadUsage_ExitsTwo(params string[] args)
    {
        var (code, _, error) = await CliRunner.RunAsync([.. args.Select(a => a == "DOCS" ? Docs : a)]);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
    }
}
