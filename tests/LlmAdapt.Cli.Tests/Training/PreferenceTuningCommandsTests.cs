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
            var text = Path.Combine(dir, "corpus.txt");
            await File.WriteAllTextAsync(text, (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..4000]);
            var model = Path.Combine(dir, "model");
            var (code, output, error) = await CliRunner.RunAsync("pretrain", "--layers", "1", "--heads", "2", "--dim", "16", "--context", "48", "--batch", "2", "--steps", "1", "--warmup", "1", "--eval-every", "1", "--eval-batches", "1", "--data", text, "--out", model);
            Assert.True(code == 0, error);

            var adapter = Path.Combine(dir, "dpo");
            var plot = Path.Combine(dir, "dpo.png");
            (code, output, error) = await CliRunner.RunAsync("dpo", "--base", model, "--pairs", Pairs, "--take", "10", "--hold-out", "2", "--loss", "robust", "--label-smoothing", "0.1", "--beta", "0.5",
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
}
