using System.Text.Json;
using LlmAdapt.Formats;

namespace LlmAdapt.Cli.Tests.Export;

public sealed class LlamaExportCommandTests
{
    [Fact]
    public async Task ExportOnnx_LlamaCheckpointWithItsTokenizer_Fp16Weights_GeneratesFromTextAndFromIds()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-export", Guid.NewGuid().ToString("N")[..8]);
        var checkpoint = Path.Combine(dir, "llama");
        Directory.CreateDirectory(checkpoint);
        try
        {
            // A random 1-layer Llama (4 query heads, 2 key/value heads) with the shared fixture's 32,000-id tokenizer.
            const int vocab = 32000, c = 16, kv = 8, inner = 32;
            var random = new Random(7);
            float[] Random(long count) => [.. Enumerable.Range(0, (int)count).Select(_ => (float)((random.NextDouble() - 0.5) * 0.8))];
            var writer = new SafeTensorsWriter();
            writer.Add("model.embed_tokens.weight", Random(vocab * c), [vocab, c]);
            writer.Add("model.layers.0.input_layernorm.weight", [.. Enumerable.Repeat(1f, c)], [c]);
            writer.Add("model.layers.0.self_attn.q_proj.weight", Random(c * c), [c, c]);
            writer.Add("model.layers.0.self_attn.k_proj.weight", Random(kv * c), [kv, c]);
            writer.Add("model.layers.0.self_attn.v_proj.weight", Random(kv * c), [kv, c]);
            writer.Add("model.layers.0.self_attn.o_proj.weight", Random(c * c), [c, c]);
            writer.Add("model.layers.0.post_attention_layernorm.weight", [.. Enumerable.Repeat(1f, c)], [c]);
            writer.Add("model.layers.0.mlp.gate_proj.weight", Random(inner * c), [inner, c]);
            writer.Add("model.layers.0.mlp.up_proj.weight", Random(inner * c), [inner, c]);
            writer.Add("model.layers.0.mlp.down_proj.weight", Random(c * inner), [c, inner]);
            writer.Add("model.norm.weight", [.. Enumerable.Repeat(1f, c)], [c]);
            await writer.WriteAsync(Path.Combine(checkpoint, "model.safetensors"));
            await new HuggingFaceModelConfig
            {
                ModelType = "llama", VocabSize = vocab, HiddenSize = c, IntermediateSize = inner, NumHiddenLayers = 1, NumAttentionHeads = 4,
                NumKeyValueHeads = 2, MaxPositionEmbeddings = 32, TieWordEmbeddings = true, BosTokenId = 1, EosTokenId = 2,
            }.WriteAsync(Path.Combine(checkpoint, "config.json"));
            var tokenizer = Path.GetFullPath(TestData.PathOf(Path.Combine("..", "models", "onnxruntime-genai", "tiny-random-LlamaForCausalLM-fp16")));
            foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
            {
                File.Copy(Path.Combine(tokenizer, file), Path.Combine(checkpoint, file));
            }

            var onnx = Path.Combine(dir, "onnx");
            var (code, output, error) = await CliRunner.RunAsync("export", "onnx", "--model", checkpoint, "--out", onnx, "--fp16-weights", "--json");
            Assert.True(code == 0, error);
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                Assert.Equal("llama", report.RootElement.GetProperty("architecture").GetString());
                Assert.Equal(1, report.RootElement.GetProperty("layers").GetInt32());
                Assert.Equal(["tokenizer.json", "tokenizer_config.json"], report.RootElement.GetProperty("tokenizer_files").EnumerateArray().Select(e => e.GetString()));
            }

            Assert.Contains("llama, 1 layers", error, StringComparison.Ordinal);
            Assert.InRange(new FileInfo(Path.Combine(onnx, "model.onnx")).Length, 0, (vocab * c * 2) + (64 * 1024));
            (code, output, error) = await CliRunner.RunAsync("generate", "--model", onnx, "--prompt", "Hello world", "--max-new-tokens", "5", "--json");
            Assert.True(code == 0, error);
            using var fromText = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
            var ids = fromText.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToList();
            Assert.Equal(5, ids.Count);

            // "<s> Hello world" in the Llama vocabulary: the same continuation from the ids.
            (code, output, error) = await CliRunner.RunAsync("generate", "--model", onnx, "--prompt-ids", "1,15043,3186", "--max-new-tokens", "5", "--json");
            Assert.True(code == 0, error);
            using var fromIds = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
            Assert.Equal(ids, fromIds.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));

            // A LoRA adapter on q_proj kept separate, then written again by 'export adapter': the same file.
            var adapter = Path.Combine(dir, "adapter");
            Directory.CreateDirectory(adapter);
            var lora = new SafeTensorsWriter();
            lora.Add("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", Random(2 * c), [2, c]);
            lora.Add("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", Random(c * 2), [c, 2]);
            await lora.WriteAsync(Path.Combine(adapter, PeftAdapterConfig.WeightsFileName));
            await new PeftAdapterConfig { Rank = 2, Alpha = 4, TargetModules = ["q_proj"], BaseModelNameOrPath = checkpoint }.WriteAsync(Path.Combine(adapter, PeftAdapterConfig.FileName));
            var separate = Path.Combine(dir, "onnx-lora");
            (code, output, error) = await CliRunner.RunAsync("export", "onnx", "--model", adapter, "--out", separate, "--keep-lora-separate", "--json");
            Assert.True(code == 0, error);
            using (var report = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
            {
                Assert.Equal(1, report.RootElement.GetProperty("separate_lora_modules").GetInt32());
                Assert.Equal(0, report.RootElement.GetProperty("merged_lora_modules").GetInt32());
            }

            var again = Path.Combine(dir, "again.onnx_adapter");
            (code, _, error) = await CliRunner.RunAsync("export", "adapter", "--adapter", adapter, "--onnx", separate, "--out", again);
            Assert.True(code == 0, error);
            Assert.Contains("LoRA on 1 projections", error, StringComparison.Ordinal);
            Assert.Equal(File.ReadAllBytes(Path.Combine(separate, "adapter.onnx_adapter")), File.ReadAllBytes(again));

            // The graph without LoRA inputs cannot take an adapter file.
            (code, _, error) = await CliRunner.RunAsync("export", "adapter", "--adapter", adapter, "--onnx", onnx, "--out", Path.Combine(dir, "x.onnx_adapter"));
            Assert.Equal(1, code);
            Assert.Contains("no LoRA inputs", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ExportOnnx_KeepLoraSeparateWithoutAnAdapter_IsAUsageError()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-export", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var (code, _, error) = await CliRunner.RunAsync("export", "onnx", "--model", dir, "--out", Path.Combine(dir, "onnx"), "--keep-lora-separate");
            Assert.Equal(2, code);
            Assert.Contains("--keep-lora-separate needs a LoRA adapter", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dir, "onnx")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
