using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Cli.Tests.Export;

public sealed class ExportCommandsTests
{
    [Fact]
    public async Task Pretrain_ExportOnnx_GenerateGreedy_EqualsTheEnginesSample()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-export", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            // Sample: the first 6,000 characters of tinyshakespeare, 3 training steps of a one-layer model.
            var text = Path.Combine(dir, "corpus.txt");
            await File.WriteAllTextAsync(text, (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..6000]);
            var checkpoint = Path.Combine(dir, "model");
            var (code, _, error) = await CliRunner.RunAsync("pretrain", "--layers", "1", "--heads", "2", "--dim", "8", "--context", "16", "--batch", "2", "--steps", "3", "--warmup", "1", "--eval-every", "3", "--eval-batches", "1", "--data", text, "--out", checkpoint);
            Assert.True(code == 0, error);

            var onnx = Path.Combine(dir, "onnx");
            (code, var output, error) = await CliRunner.RunAsync("export", "onnx", "--model", checkpoint, "--out", onnx, "--json");
            Assert.True(code == 0, error);
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                Assert.Equal(1, report.RootElement.GetProperty("layers").GetInt32());
                Assert.Equal(Path.Combine(onnx, "model.onnx"), report.RootElement.GetProperty("model").GetString());
            }

            Assert.True(File.Exists(Path.Combine(onnx, "genai_config.json")));
            Assert.True(File.Exists(Path.Combine(onnx, "tokenizer.json")), "an engine checkpoint gets GPT-2's tokenizer.json");

            // The engine's greedy continuation and the exported model's, through the ONNX generation client.
            (code, var sampled, error) = await CliRunner.RunAsync("sample", "--model", checkpoint, "--prompt", "ROMEO:", "--tokens", "6", "--temperature", "0");
            Assert.True(code == 0, error);
            var gpt2 = TiktokenTokenizer.CreateForModel("gpt2");
            var promptIds = gpt2.EncodeToIds("ROMEO:");
            (code, output, error) = await CliRunner.RunAsync("generate", "--model", onnx, "--prompt-ids", string.Join(',', promptIds), "--max-new-tokens", "6", "--json");
            Assert.True(code == 0, error);
            using var generated = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
            var ids = generated.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToList();
            Assert.Equal(6, ids.Count);
            Assert.Equal(sampled.TrimEnd('\n', '\r'), gpt2.Decode([.. promptIds, .. ids]));

            // With the tokenizer written by the export, the text prompt gives the same continuation.
            (code, output, error) = await CliRunner.RunAsync("generate", "--model", onnx, "--prompt", "ROMEO:", "--max-new-tokens", "6", "--json");
            Assert.True(code == 0, error);
            using var fromText = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
            Assert.Equal(ids, fromText.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ExportOnnx_WithoutACheckpoint_FailsNamingConfigJson()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-export", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var (code, _, error) = await CliRunner.RunAsync("export", "onnx", "--model", dir, "--out", Path.Combine(dir, "onnx"));
            Assert.Equal(1, code);
            Assert.Contains(Path.Combine(dir, "config.json"), error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dir, "onnx")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
