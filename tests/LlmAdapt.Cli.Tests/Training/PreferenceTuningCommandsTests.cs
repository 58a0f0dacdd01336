using System.Text.Json;

namespace LlmAdapt.Cli.Tests.Training;

/// <summary>
/// <c>dpo</c> and <c>eval preferences</c> on a tiny GPT-2 pre-trained by the CLI. Sample: the first 10 pairs of
/// HH-RLHF harmless (shared/data/preference/hh-rlhf-harmless/pairs-1800.jsonl.gz), the last 2 held out.
/// </summary>
public sealed class PreferenceTuningCommandsTests
{
    private static string Pairs => TestData.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz");

    [Fact]
    public async Task Dpo_ThenEvalPreferences_ThenSampleAndExportOnnx_RunEndToEnd()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-dpo", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var model = await CliRunner.PretrainTinyAsync(dir);
            var adapter = Path.Combine(dir, "dpo");
            var plot = Path.Combine(dir, "dpo.png");
            var (code, output, error) = await CliRunner.RunAsync("dpo", "--base", model, "--pairs", Pairs, "--take", "10", "--hold-out", "2", "--loss", "robust", "--label-smoothing", "0.1", "--beta", "0.5",
                "--max-prompt-tokens", "24", "--max-response-tokens", "16", "--lora-rank", "2", "--steps", "4", "--batch", "2", "--lr", "0.02", "--warmup", "1", "--eval-every", "2", "--threads", "2", "--out", adapter, "--plot", plot, "--json");
            Assert.True(code == 0, error);
            Assert.Contains("reference log-probabilities: 10/10 pairs", error, StringComparison.Ordinal);
            Assert.Contains("eval_rewards/accuracies", output, StringComparison.Ordinal);
            Assert.True(new FileInfo(plot).Length > 1000);
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                var root = report.RootElement;
                Assert.Equal("lora-adapter", root.GetProperty("kind").GetString());
                Assert.Equal("robust", root.GetProperty("loss_type").GetString());
                var metrics = root.GetProperty("metrics");
                Assert.Equal(8, metrics.GetProperty("pairs").GetDouble());
                Assert.Equal(2, metrics.GetProperty("validation_pairs").GetDouble());
                Assert.Equal(20, metrics.GetProperty("reference_sequences_scored").GetDouble());
                Assert.True(metrics.GetProperty("truncated_prompts").GetDouble() > 0);
                foreach (var name in new[] { "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "eval_rewards/accuracies", "eval_loss" })
                {
                    Assert.True(metrics.TryGetProperty(name, out _), name);
                }
            }

            (code, output, error) = await CliRunner.RunAsync("eval", "preferences", "--model", adapter, "--pairs", Pairs, "--take", "8", "--json");
            Assert.True(code == 0, error);
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                Assert.Equal(8, report.RootElement.GetProperty("pairs").GetDouble());
                Assert.Equal(0.5, report.RootElement.GetProperty("beta").GetDouble());
                Assert.InRange(report.RootElement.GetProperty("rewards/accuracies").GetDouble(), 0, 1);
                Assert.NotEqual(0, report.RootElement.GetProperty("rewards/margins").GetDouble());
            }

            (code, output, error) = await CliRunner.RunAsync("sample", "--model", adapter, "--prompt", "Human: hi", "--tokens", "3", "--temperature", "0");
            Assert.True(code == 0, error);
            Assert.StartsWith("Human: hi", output, StringComparison.Ordinal);

            // The adapter exports like an sft adapter: merged into the graph, or kept as a separate LoRA file.
            (code, output, error) = await CliRunner.RunAsync("export", "onnx", "--model", adapter, "--out", Path.Combine(dir, "onnx"), "--json");
            Assert.True(code == 0, error);
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                Assert.True(report.RootElement.GetProperty("merged_lora_modules").GetInt32() > 0);
            }

            (code, output, error) = await CliRunner.RunAsync("export", "onnx", "--model", adapter, "--out", Path.Combine(dir, "onnx-lora"), "--keep-lora-separate", "--json");
            Assert.True(code == 0, error);
            Assert.True(File.Exists(Path.Combine(dir, "onnx-lora", "adapter.onnx_adapter")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("{\"prompt\": \"Hi\", \"chosen\": \" hello\", \"rejected\": \" hello\"}", "pairs.jsonl:3", 1)]
    [InlineData("{\"prompt\": \"Hi\", \"chosen\": \"\", \"rejected\": \" go\"}", "pairs.jsonl:3", 1)]
    [InlineData("{\"prompt\": \"Hi\", \"chosen\": ", "pairs.jsonl:3", 1)]
    public async Task Dpo_WithABadPair_FailsNamingTheLine_AndWritesNothing(string line, string where, int exitCode)
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-dpo", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var pairs = Path.Combine(dir, "pairs.jsonl");
            await File.WriteAllLinesAsync(pairs, ["{\"prompt\": \"Hi\", \"chosen\": \" hello\", \"rejected\": \" go away\"}", "{\"prompt\": \"Bye\", \"chosen\": \" bye\", \"rejected\": \" no\"}", line]);
            var output = Path.Combine(dir, "out");
            var (code, _, error) = await CliRunner.RunAsync("dpo", "--base", dir, "--pairs", pairs, "--out", output);
            Assert.Equal(exitCode, code);
            Assert.Contains(where, error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(output));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Preferred-FT then DPO from it: <c>sft --format preference</c> learns the chosen answers of the first 10 HH pairs
    /// (full fine-tuning writes a checkpoint), and <c>dpo --base</c> that checkpoint takes it as its reference.
    /// </summary>
    [Fact]
    public async Task SftOnPreferredAnswers_WritesACheckpoint_ThatDpoTakesAsItsBase()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-dpo", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var model = await CliRunner.PretrainTinyAsync(dir);
            var sft = Path.Combine(dir, "sft");
            var (code, output, error) = await CliRunner.RunAsync("sft", "--base", model, "--data", Pairs, "--format", "preference", "--max-prompt-tokens", "-1", "--out", sft);
            Assert.Equal(2, code);
            Assert.Contains("--max-prompt-tokens -1", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(sft));

            // The whole file has pairs with an empty chosen answer: sft stops at the first, naming its line.
            (code, _, error) = await CliRunner.RunAsync("sft", "--base", model, "--data", Pairs, "--format", "preference", "--lora-rank", "0", "--steps", "1", "--out", sft);
            Assert.Equal(1, code);
            Assert.Contains("pairs-1800.jsonl.gz:87", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(sft));

            var ten = Path.Combine(dir, "ten.jsonl");
            await using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(Pairs), System.IO.Compression.CompressionMode.Decompress))
            {
                using var reader = new StreamReader(gz);
                var lines = new List<string>();
                while (lines.Count < 10 && await reader.ReadLineAsync() is { } line)
                {
                    lines.Add(line);
                }

                await File.WriteAllLinesAsync(ten, lines);
            }

            (code, output, error) = await CliRunner.RunAsync("sft", "--base", model, "--data", ten, "--format", "preference", "--max-prompt-tokens", "24", "--context", "48", "--hold-out", "2",
                "--lora-rank", "0", "--steps", "2", "--batch", "2", "--lr", "0.01", "--threads", "1", "--out", sft, "--json");
            Assert.True(code == 0, error);
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                Assert.Equal("checkpoint", report.RootElement.GetProperty("kind").GetString());
                Assert.Equal(2, report.RootElement.GetProperty("steps").GetInt32());
            }

            Assert.True(File.Exists(Path.Combine(sft, "model.safetensors")));
            Assert.NotEqual(await File.ReadAllBytesAsync(Path.Combine(model, "model.safetensors")), await File.ReadAllBytesAsync(Path.Combine(sft, "model.safetensors")));

            var adapter = Path.Combine(dir, "dpo");
            (code, output, error) = await CliRunner.RunAsync("dpo", "--base", sft, "--pairs", ten, "--hold-out", "2", "--max-prompt-tokens", "24", "--max-response-tokens", "16",
                "--lora-rank", "2", "--steps", "1", "--batch", "2", "--threads", "1", "--out", adapter, "--json");
            Assert.True(code == 0, error);
            Assert.Contains("reference log-probabilities: 10/10 pairs", error, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(adapter, "adapter_model.safetensors")));
            using (var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(adapter, "adapter_config.json"))))
            {
                Assert.Equal(Path.GetFullPath(sft), Path.GetFullPath(config.RootElement.GetProperty("base_model_name_or_path").GetString()!, adapter));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Dpo_WithBetaZero_OrABaseThatIsNotADecoder_FailsBeforeWriting()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-dpo", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var output = Path.Combine(dir, "out");
            var (code, _, error) = await CliRunner.RunAsync("dpo", "--base", dir, "--pairs", Pairs, "--take", "4", "--beta", "0", "--out", output);
            Assert.Equal(2, code);
            Assert.Contains("Beta is 0", error, StringComparison.Ordinal);

            (code, _, error) = await CliRunner.RunAsync("dpo", "--base", dir, "--pairs", Pairs, "--take", "4", "--out", output);
            Assert.Equal(1, code);
            Assert.Contains("config.json", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(output));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The controlled-generation loop in miniature: a tiny GPT-2 pre-trained one step on SST-2 sentences (train.tsv lines
    /// 2–301), a linear classifier on train.tsv lines 2–121, prompts = 2–4-word prefixes (seed 42) of dev.tsv lines
    /// 2–41; sample and score, rank, pair, DPO, and measure the adapter against its base.
    /// </summary>
    [Fact]
    public async Task EvalGenerations_ScoresSamples_WritesRankings_AndMeasuresAnAdaptersKl()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-gen", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string PathOf(string name) => Path.Combine(dir, name);
            var sst = TestData.PathOf("classification/sst2/train.tsv");
            await File.WriteAllTextAsync(PathOf("corpus.txt"), string.Join("<|endoftext|>", File.ReadLines(sst).Skip(1).Take(300).Select(l => l.Split('\t')[0])));
            await File.WriteAllLinesAsync(PathOf("train.tsv"), File.ReadLines(sst).Take(121));
            await File.WriteAllLinesAsync(PathOf("prompts.txt"), File.ReadLines(TestData.PathOf("classification/sst2/dev.tsv")).Skip(1).Take(40).Select(l => l.Split('\t')[0]));
            var model = PathOf("model");
            var (code, output, error) = await CliRunner.RunAsync("pretrain", "--layers", "1", "--heads", "2", "--dim", "16", "--context", "32", "--batch", "2", "--steps", "1", "--warmup", "1", "--eval-every", "1", "--eval-batches", "1", "--data", PathOf("corpus.txt"), "--out", model);
            Assert.True(code == 0, error);
            var classifier = PathOf("clf");
            (code, _, error) = await CliRunner.RunAsync("train", "classifier", "--train", PathOf("train.tsv"), "--epochs", "3", "--out", classifier, "--cache-dir", PathOf("cache"));
            Assert.True(code == 0, error);

            string[] common = ["--prompts", PathOf("prompts.txt"), "--prefix-words", "2-4", "--take", "4", "--classifier", classifier, "--label", "1", "--samples", "3", "--max-new-tokens", "5", "--cache-dir", PathOf("cache"), "--json"];
            (code, output, error) = await CliRunner.RunAsync(["eval", "generations", "--model", model, "--rankings", PathOf("rankings.jsonl"), .. common]);
            Assert.True(code == 0, error);
            Assert.Contains("4 prompts × 3 samples", output, StringComparison.Ordinal);
            int rankings;
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                var root = report.RootElement;
                Assert.Equal(4, root.GetProperty("prompts").GetInt32());
                var mean = root.GetProperty("mean_reward").GetDouble();
                Assert.InRange(mean, 0, 1);
                Assert.InRange(root.GetProperty("best_of_n_reward").GetDouble(), mean, 1);
                Assert.False(root.TryGetProperty("kl", out _)); // no reference, no KL
                Assert.InRange(root.GetProperty("distinct_2").GetDouble(), 0, 1);
                rankings = root.GetProperty("rankings").GetInt32();
            }

            Assert.Equal(rankings, File.ReadAllLines(PathOf("rankings.jsonl")).Length);
            (code, _, error) = await CliRunner.RunAsync("pairs", "from-rankings", "--in", PathOf("rankings.jsonl"), "--out", PathOf("pairs.jsonl"));
            Assert.True(code == 0, error);
            var adapter = PathOf("dpo");
            (code, _, error) = await CliRunner.RunAsync("dpo", "--base", model, "--pairs", PathOf("pairs.jsonl"), "--hold-out", "1", "--lora-rank", "2", "--steps", "2", "--batch", "2", "--lr", "0.05", "--warmup", "1", "--max-prompt-tokens", "8", "--max-response-tokens", "8", "--threads", "2", "--out", adapter);
            Assert.True(code == 0, error);

            // Both models on the same prompts and seed, one JSON line each, and the reward–KL picture.
            (code, output, error) = await CliRunner.RunAsync(["eval", "generations", "--model", model, "--model", adapter, "--plot", PathOf("frontier.png"), "--threads", "1", .. common]);
            Assert.True(code == 0, error);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(PathOf("frontier.png"))[..4]);
            var lines = output.TrimEnd().Split('\n').Where(l => l.StartsWith('{')).ToArray();
            Assert.Equal(2, lines.Length);
            using (var report = JsonDocument.Parse(lines[1]))
            {
                Assert.Equal(Path.GetFullPath(adapter), report.RootElement.GetProperty("model").GetString());
                Assert.Equal("base without adapter", report.RootElement.GetProperty("reference").GetString());
                Assert.Equal(JsonValueKind.Number, report.RootElement.GetProperty("kl").ValueKind);
                Assert.True(report.RootElement.GetProperty("kl_se").GetDouble() >= 0);
            }

            (code, _, error) = await CliRunner.RunAsync("eval", "generations", "--model", model, "--prompts", PathOf("prompts.txt"), "--samples", "2");
            Assert.Equal(2, code);
            Assert.Contains("--classifier", error, StringComparison.Ordinal);
            (code, _, error) = await CliRunner.RunAsync("eval", "generations", "--model", model, "--prompts", PathOf("prompts.txt"), "--prefix-words", "4-2", "--reward-model", classifier);
            Assert.Equal(2, code);
            Assert.Contains("--prefix-words '4-2'", error, StringComparison.Ordinal);
            (code, _, error) = await CliRunner.RunAsync(["eval", "generations", "--model", model, "--model", adapter, "--rankings", PathOf("r2.jsonl"), .. common]);
            Assert.Equal(2, code);
            Assert.Contains("one --model", error, StringComparison.Ordinal);
            (code, _, error) = await CliRunner.RunAsync(["eval", "generations", "--model", model, "--threads", "-1", .. common]);
            Assert.Equal(2, code);
            Assert.Contains("Threads", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
