using System.Text.Json;

namespace LlmAdapt.Cli.Tests.Training;

public sealed class FineTuningCommandsTests
{
    [Fact]
    public async Task Pretrain_ThenEvalPerplexity_ThenSample_RunEndToEnd()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-ft", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);

        // Sample: the first 6,000 characters of tinyshakespeare.
        var text = Path.Combine(dir, "corpus.txt");
        await File.WriteAllTextAsync(text, (await File.ReadAllTextAsync(CliRunner.SharedData("corpus/tinyshakespeare/input.txt")))[..6000]);
        var model = Path.Combine(dir, "model");
        var plot = Path.Combine(dir, "loss.png");

        var (code, output, error) = await CliRunner.RunAsync("pretrain", "--layers", "1", "--heads", "1", "--dim", "8", "--context", "16", "--batch", "2", "--steps", "3", "--warmup", "1", "--eval-every", "3", "--eval-batches", "1", "--data", text, "--out", model, "--plot", plot, "--json");
        Assert.True(code == 0, error);
        Assert.True(File.Exists(Path.Combine(model, "model.safetensors")));
        Assert.True(new FileInfo(plot).Length > 1000);
        using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.Equal(3, report.RootElement.GetProperty("steps").GetInt32());
            Assert.True(report.RootElement.GetProperty("unigram_entropy").GetDouble() > 3);
        }

        (code, output, error) = await CliRunner.RunAsync("eval", "perplexity", "--model", model, "--data", text, "--from", "0.9", "--json");
        Assert.True(code == 0, error);
        using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.InRange(report.RootElement.GetProperty("loss").GetDouble(), 5, 11.5);
        }

        (code, output, error) = await CliRunner.RunAsync("sample", "--model", model, "--prompt", "ROMEO:", "--tokens", "3", "--temperature", "0");
        Assert.True(code == 0, error);
        Assert.StartsWith("ROMEO:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sft_WithAMalformedLine_FailsWithTheLineNumber()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-ft", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var data = Path.Combine(dir, "bad.jsonl");
        await File.WriteAllTextAsync(data, "{\"instruction\":\"a\",\"output\":\"b\"}\nnot json\n");
        var (code, _, error) = await CliRunner.RunAsync("sft", "--base", dir, "--data", data, "--format", "alpaca", "--out", Path.Combine(dir, "out"));
        Assert.Equal(1, code);
        Assert.Contains("bad.jsonl:2:", error, StringComparison.Ordinal);
    }
}
