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
        await File.WriteAllTextAsync(text, (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..6000]);
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
    public async Task PretrainLlama_ThenLoraSft_ThenEvalAndSample_RunEndToEnd()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-ft", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);

        // Sample: the first 6,000 characters of tinyshakespeare; 8 made-up Alpaca examples.
        var text = Path.Combine(dir, "corpus.txt");
        await File.WriteAllTextAsync(text, (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..6000]);
        var data = Path.Combine(dir, "sft.jsonl");
        await File.WriteAllLinesAsync(data, Enumerable.Range(0, 8).Select(i => $"{{\"instruction\":\"Add {i} and {i}.\",\"output\":\"{2 * i}\"}}"));
        var model = Path.Combine(dir, "llama");
        var adapter = Path.Combine(dir, "adapter");

        var (code, output, error) = await CliRunner.RunAsync("pretrain", "--arch", "llama", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--dim", "16", "--context", "64", "--batch", "2", "--steps", "2", "--warmup", "1", "--eval-every", "2", "--eval-batches", "1", "--data", text, "--out", model, "--json");
        Assert.True(code == 0, error);
        using (var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(model, "config.json"))))
        {
            Assert.Equal("llama", config.RootElement.GetProperty("model_type").GetString());
            Assert.Equal(1, config.RootElement.GetProperty("num_key_value_heads").GetInt32());
            Assert.Equal(48, config.RootElement.GetProperty("intermediate_size").GetInt32());
        }

        Assert.True(File.Exists(Path.Combine(model, "tokenizer.json")));

        (code, output, error) = await CliRunner.RunAsync("sft", "--base", model, "--data", data, "--format", "alpaca", "--hold-out", "2", "--lora-rank", "2", "--steps", "2", "--batch", "2", "--context", "64", "--out", adapter, "--json");
        Assert.True(code == 0, error);
        using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.Equal("lora-adapter", report.RootElement.GetProperty("kind").GetString());
            var share = report.RootElement.GetProperty("trainable_parameters").GetDouble() / report.RootElement.GetProperty("total_parameters").GetDouble();
            Assert.InRange(share, 1e-5, 0.02);
        }

        Assert.True(File.Exists(Path.Combine(adapter, "adapter_model.safetensors")));

        (code, output, error) = await CliRunner.RunAsync("eval", "perplexity", "--model", adapter, "--data", text, "--from", "0.9", "--json");
        Assert.True(code == 0, error);
        using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.InRange(report.RootElement.GetProperty("loss").GetDouble(), 5, 11.5);
            Assert.True(report.RootElement.GetProperty("unigram_entropy").GetDouble() > 3);
        }

        (code, output, error) = await CliRunner.RunAsync("sample", "--model", adapter, "--prompt", "ROMEO:", "--tokens", "3", "--temperature", "0");
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
