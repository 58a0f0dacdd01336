using System.Text.Json;

namespace LlmAdapt.Cli.Tests;

/// <summary>The head and preference verbs, end to end on the built-in MiniLM encoder with small seeded samples.</summary>
public sealed class TrainingHeadCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-cli-heads-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = PathOf(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static JsonElement LastJson(string output) => JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    /// <summary>SST-2 lines 2–121 of train.tsv (120 phrases) to train, lines 2–61 of test.tsv (60 sentences) to evaluate.</summary>
    [Fact]
    public async Task TrainThenEvalClassifier_WritesModelPlotAndJson()
    {
        var train = Write("train.tsv", File.ReadLines(TestData.PathOf("classification/sst2/train.tsv")).Take(121));
        var test = Write("test.tsv", File.ReadLines(TestData.PathOf("classification/sst2/test.tsv")).Take(61));
        var model = PathOf("clf");
        var plot = PathOf("loss.png");
        var cache = PathOf("cache");

        var (code, output, error) = await CliRunner.RunAsync("train", "classifier", "--train", train, "--text-column", "sentence", "--label-column", "label", "--head", "mlp", "--hidden", "32", "--epochs", "10", "--ensemble", "2", "--validation-split", "by-source-text", "--weight-by-length", "--out", model, "--plot", plot, "--cache-dir", cache, "--json");
        Assert.True(code == 0, error);
        var trained = LastJson(output);
        Assert.Equal("mlp", trained.GetProperty("head").GetString());
        Assert.Equal(120, trained.GetProperty("train_examples").GetInt32());
        Assert.True(File.Exists(Path.Combine(model, "manifest.json")));
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "manifest.json"))))
        {
            var settings = manifest.RootElement.GetProperty("settings");
            Assert.Equal("BySourceText", settings.GetProperty("validation_split").GetString());
            Assert.Equal("2", settings.GetProperty("ensemble_size").GetString());
            Assert.Equal("true", settings.GetProperty("weight_by_length").GetString());
            Assert.Equal(64, manifest.RootElement.GetProperty("head").GetProperty("hidden").GetInt32()); // two members of 32
        }

        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(plot)[..4]);
        Assert.NotEmpty(Directory.GetFiles(cache, "*.embcache"));

        (code, output, error) = await CliRunner.RunAsync("eval", "classifier", "--model", model, "--test", test, "--cache-dir", cache, "--json");
        Assert.True(code == 0, error);
        var evaluated = LastJson(output);
        Assert.Equal(60, evaluated.GetProperty("examples").GetInt32());
        var accuracy = evaluated.GetProperty("accuracy").GetDouble();
        Assert.InRange(accuracy, 0.55, 1.0);
        Assert.InRange(evaluated.GetProperty("macro_f1").GetDouble(), 0.0, 1.0);
        Assert.Contains("true \\ predicted", output, StringComparison.Ordinal);
    }

    /// <summary>SST-2 lines 2–81 of train.tsv (80 phrases) to train, lines 2–31 of test.tsv (30 sentences) to evaluate.</summary>
    [Fact]
    public async Task LayerFeatures_AreRecordedInTheManifest_UsedByEval_AndAMismatchIsRefused()
    {
        var train = Write("train.tsv", File.ReadLines(TestData.PathOf("classification/sst2/train.tsv")).Take(81));
        var test = Write("test.tsv", File.ReadLines(TestData.PathOf("classification/sst2/test.tsv")).Take(31));
        var model = PathOf("clf-layers");
        var cache = PathOf("cache-layers");

        var (code, output, error) = await CliRunner.RunAsync("train", "classifier", "--train", train, "--epochs", "5", "--embedding-layers", "3", "--embedding-pooling", "mean-max", "--embedding-normalize", "false", "--out", model, "--cache-dir", cache, "--json");
        Assert.True(code == 0, error);
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2#layers=3;pooling=mean-max;normalize=false", LastJson(output).GetProperty("embedding_model").GetString());
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "manifest.json"))))
        {
            Assert.Equal(3 * 2 * 384, manifest.RootElement.GetProperty("embedding_dimension").GetInt32());
            Assert.Equal(3 * 2 * 384, manifest.RootElement.GetProperty("head").GetProperty("inputs").GetInt32());
        }

        // No feature options: eval takes them from the manifest.
        (code, output, error) = await CliRunner.RunAsync("eval", "classifier", "--model", model, "--test", test, "--cache-dir", cache, "--json");
        Assert.True(code == 0, error);
        Assert.Equal(30, LastJson(output).GetProperty("examples").GetInt32());

        // Features that differ from the training ones are refused, naming both.
        (code, _, error) = await CliRunner.RunAsync("eval", "classifier", "--model", model, "--test", test, "--embedding-layers", "1", "--no-cache");
        Assert.Equal(1, code);
        Assert.Contains("#layers=3;pooling=mean-max;normalize=false", error, StringComparison.Ordinal);
        Assert.Contains("#layers=1;pooling=mean-max;normalize=false", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownColumn_FailsWithTheHeader()
    {
        var train = Write("t.tsv", ["text\tlabel", "good\t1", "bad\t0"]);
        var (code, _, error) = await CliRunner.RunAsync("train", "classifier", "--train", train, "--text-column", "sentence", "--out", PathOf("x"), "--no-cache");
        Assert.Equal(1, code);
        Assert.Contains("no text column 'sentence'; the header has: text, label", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmptyFile_AndOneClass_AreClearErrors()
    {
        var empty = Write("empty.tsv", []);
        var (code, _, error) = await CliRunner.RunAsync("train", "classifier", "--train", empty, "--out", PathOf("x"), "--no-cache");
        Assert.Equal(1, code);
        Assert.Contains("empty", error, StringComparison.Ordinal);

        var one = Write("one.tsv", ["sentence\tlabel", "good\t1", "fine\t1", "great\t1"]);
        (code, _, error) = await CliRunner.RunAsync("train", "classifier", "--train", one, "--out", PathOf("y"), "--no-cache");
        Assert.Equal(1, code);
        Assert.Contains("one class only", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PairsFromRankings_CountsPerStrategy()
    {
        var rankings = Write("rankings.jsonl", [
            """{"prompt":"p1","responses":["a","b","c","d"],"ranking":[0,1,2,3]}""",
            """{"prompt":"p2","responses":["w","x","y"],"ranking":[[0,1],2]}""",
        ]);
        foreach (var (strategy, expected) in new[] { ("all", 6 + 2), ("best-vs-rest", 3 + 2), ("adjacent", 3 + 2) })
        {
            var outPath = PathOf($"pairs-{strategy}.jsonl");
            var (code, output, error) = await CliRunner.RunAsync("pairs", "from-rankings", "--in", rankings, "--out", outPath, "--strategy", strategy, "--json");
            Assert.True(code == 0, error);
            Assert.Equal(expected, LastJson(output).GetProperty("pairs").GetInt32());
            Assert.Equal(expected, File.ReadAllLines(outPath).Length);
        }
    }

    [Fact]
    public async Task PairsFromFeedback_PairsThumbsPerPrompt_ReportsDrops_AndSkipsATornLastLine()
    {
        var feedback = Write("feedback.jsonl", [
            """{"response_id":"1","kind":"thumbs","prompt":"p1","responses":["good"],"thumbs_up":true}""",
            """{"response_id":"2","kind":"thumbs","prompt":"p1","responses":["bad"],"thumbs_up":false}""",
            """{"response_id":"3","kind":"thumbs","prompt":"p2","responses":["only up"],"thumbs_up":true}""",
            """{"response_id":"4","kind":"ranking","source":"best-of-n","prompt":"p3","responses":["x","y","z"],"ranks":[1,2,3],"scores":[0.9,0.5,0.1]}""",
        ]);
        File.AppendAllText(feedback, """{"response_id":"5","kind":"thu""");
        var outPath = PathOf("feedback-pairs.jsonl");

        var (code, output, error) = await CliRunner.RunAsync("pairs", "from-feedback", "--in", feedback, "--out", outPath, "--json");

        Assert.True(code == 0, error);
        Assert.Contains("torn last line", error, StringComparison.Ordinal);
        var report = LastJson(output);
        Assert.Equal(4, report.GetProperty("records").GetInt32());
        Assert.Equal(1 + 3, report.GetProperty("pairs").GetInt32());
        Assert.Equal(1, report.GetProperty("dropped").GetProperty("thumbs_up_only").GetInt32());
        Assert.Contains("thumbs up on a prompt with no thumbs down", output, StringComparison.Ordinal);
        var lines = File.ReadAllLines(outPath);
        Assert.Equal(4, lines.Length);
        Assert.Contains("\"chosen\":\"good\"", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedPairs_NameTheLine_AndChosenEqualsRejectedIsRefused()
    {
        var bad = Write("bad.jsonl", ["""{"prompt":"p","chosen":"a","rejected":"b"}""", """{"prompt":"p","chosen":"""]);
        var (code, _, error) = await CliRunner.RunAsync("train", "reward", "--pairs", bad, "--out", PathOf("r"), "--no-cache");
        Assert.Equal(1, code);
        Assert.Contains("bad.jsonl:2", error, StringComparison.Ordinal);

        var same = Write("same.jsonl", ["""{"prompt":"p","chosen":"a","rejected":"b"}""", """{"prompt":"p","chosen":"yes","rejected":"yes"}"""]);
        (code, _, error) = await CliRunner.RunAsync("train", "reward", "--pairs", same, "--out", PathOf("r"), "--no-cache");
        Assert.Equal(1, code);
        Assert.Contains("same.jsonl:2", error, StringComparison.Ordinal);
        Assert.Contains("same text", error, StringComparison.Ordinal);
    }

    /// <summary>24 short synthetic pairs: polite answers preferred to rude ones.</summary>
    [Fact]
    public async Task TrainThenEvalReward_ReportsAccuracyBesideLengthRules()
    {
        string[] polite = ["Sure, glad to help.", "Happy to explain that.", "Here is a clear answer.", "Thanks for asking, here you go.", "Of course, let me help.", "Good question, here is how."];
        string[] rude = ["No.", "Figure it out yourself.", "That is a dumb question.", "Go away.", "Not my problem.", "Whatever, stop asking."];
        var lines = Enumerable.Range(0, 24).Select(i => JsonSerializer.Serialize(new { prompt = $"Question {i}?", chosen = polite[i % 6], rejected = rude[(i * 5) % 6] })).ToArray();
        var pairs = Write("pairs.jsonl", lines);
        var model = PathOf("rm");
        var cache = PathOf("cache");

        var (code, output, error) = await CliRunner.RunAsync("train", "reward", "--pairs", pairs, "--take", "18", "--features", "response,length", "--head", "linear", "--epochs", "30", "--lr", "0.01", "--out", model, "--cache-dir", cache, "--json");
        Assert.True(code == 0, error);
        Assert.Equal(18, LastJson(output).GetProperty("pairs").GetInt32());

        (code, output, error) = await CliRunner.RunAsync("eval", "reward", "--model", model, "--pairs", pairs, "--skip", "18", "--cache-dir", cache, "--json");
        Assert.True(code == 0, error);
        var json = LastJson(output);
        Assert.Equal(6, json.GetProperty("pairs").GetInt32());
        Assert.True(json.GetProperty("accuracy").GetDouble() >= 5.0 / 6, output);
        Assert.Equal(1.0, json.GetProperty("shorter_wins").GetDouble() + json.GetProperty("longer_wins").GetDouble(), 12);
    }

    [Fact]
    public async Task OutOfRangeOption_IsAUsageError()
    {
        var train = Write("t2.tsv", ["sentence\tlabel", "good\t1", "bad\t0"]);
        var (code, _, error) = await CliRunner.RunAsync("train", "classifier", "--train", train, "--out", PathOf("z"), "--lr", "0", "--no-cache");
        Assert.Equal(2, code);
        Assert.Contains("LearningRate", error, StringComparison.Ordinal);
    }
}
