using System.Text.Json;
using LlmAdapt.Formats;

namespace LlmAdapt.Tests.Formats;

/// <summary>The checkpoint formats Training and Onnx share: config.json shapes, sharded weights, adapter folders, LoRA merge, folder kinds.</summary>
public sealed class CheckpointFormatsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-formats-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Config_ResolvesEachFamilysKeysAndDefaults()
    {
        var llama = JsonSerializer.Deserialize<HuggingFaceModelConfig>("""
            {"model_type":"llama","vocab_size":97,"hidden_size":16,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":6,"intermediate_size":40}
            """)!;
        Assert.Equal((32, 16, 4, 2, 6, 40, 2048), (llama.LayerCount, llama.Width, llama.HeadCount, llama.KeyValueHeadCount, llama.HeadSize, llama.MlpWidth, llama.ContextLength));
        Assert.Equal(1e-6, llama.NormEpsilon);
        Assert.False(llama.TiesWordEmbeddings);

        var gpt2 = JsonSerializer.Deserialize<HuggingFaceModelConfig>("""{"model_type":"gpt2","vocab_size":50257,"n_embd":64,"n_head":4,"n_inner":null}""")!;
        Assert.Equal((12, 64, 4, 4, 16, 256, 1024), (gpt2.LayerCount, gpt2.Width, gpt2.HeadCount, gpt2.KeyValueHeadCount, gpt2.HeadSize, gpt2.MlpWidth, gpt2.ContextLength));
        Assert.Equal(1e-5, gpt2.NormEpsilon);
        Assert.True(gpt2.TiesWordEmbeddings);
    }

    [Fact]
    public void RotaryFrequencies_ApplyRopeScaling_AndRefuseUnknownTypesNamingTheFile()
    {
        HuggingFaceModelConfig With(string? scaling) => JsonSerializer.Deserialize<HuggingFaceModelConfig>(
            $$"""{"model_type":"llama","vocab_size":97,"hidden_size":16,"num_attention_heads":2,"rope_theta":100{{(scaling is null ? "" : ",\"rope_scaling\":" + scaling)}}}""")!;
        var plain = With(null).RotaryFrequencies("config.json");
        Assert.Equal(4, plain.Length);
        Assert.Equal(Math.Pow(100, -2.0 / 8), plain[1], 15);
        Assert.False(With(null).ScalesRotaryFrequencies);
        Assert.False(With("""{"rope_type":"default"}""").ScalesRotaryFrequencies);
        Assert.Equal(plain, With("""{"rope_type":"default"}""").RotaryFrequencies("config.json"));

        var linear = With("""{"type":"linear","factor":4.0}""");
        Assert.True(linear.ScalesRotaryFrequencies);
        Assert.Equal(plain.Select(f => f / 4), linear.RotaryFrequencies("config.json"));

        var ex = Assert.Throws<ModelLoadException>(() => With("""{"rope_type":"yarn","factor":4.0}""").RotaryFrequencies("/models/x/config.json"));
        Assert.Contains("/models/x/config.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("yarn", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdapterBase_IsResolvedRelativeToTheAdapterFolder_NotTheCurrentDirectory()
    {
        var baseDir = Directory.CreateDirectory(Path.Combine(_dir, "base")).FullName;
        var adapter = Directory.CreateDirectory(Path.Combine(_dir, "runs", "adapter")).FullName;
        await new PeftAdapterConfig { Rank = 2, Alpha = 4, BaseModelNameOrPath = Path.Combine("..", "..", "base") }.WriteAsync(adapter);

        // ../../base from the test's working directory is somewhere else; from the adapter folder it is the base.
        Assert.NotEqual(baseDir, Path.GetFullPath(Path.Combine("..", "..", "base")));
        Assert.Equal(baseDir, await PeftAdapterFolder.ResolveBaseAsync(adapter));

        Assert.Equal(baseDir, PeftAdapterFolder.ResolveBase(adapter, new PeftAdapterConfig { Rank = 2, BaseModelNameOrPath = baseDir }));
        var missing = Assert.Throws<ModelLoadException>(() => PeftAdapterFolder.ResolveBase(adapter, new PeftAdapterConfig { Rank = 2, BaseModelNameOrPath = "elsewhere" }));
        Assert.Contains(Path.Combine(adapter, "elsewhere"), missing.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(adapter, PeftAdapterConfig.FileName), missing.Message, StringComparison.Ordinal);
        Assert.Throws<ModelLoadException>(() => PeftAdapterFolder.ResolveBase(adapter, new PeftAdapterConfig { Rank = 2 }));
    }

    [Fact]
    public void FolderKinds_AreToldApartByTheirFiles()
    {
        string Folder(string name, params string[] files)
        {
            var dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
            foreach (var file in files)
            {
                File.WriteAllText(Path.Combine(dir, file), "{}");
            }

            return dir;
        }

        var adapter = Folder("adapter", PeftAdapterConfig.FileName, PeftAdapterConfig.WeightsFileName);
        var merged = Folder("merged", PeftAdapterConfig.FileName, "config.json", "model.safetensors");
        Assert.True(PeftAdapterFolder.IsAdapterFolder(adapter));
        Assert.False(PeftAdapterFolder.IsAdapterFolder(merged));
        Assert.Equal(ModelFolderKind.PeftAdapter, ModelFolder.Detect(adapter));
        Assert.Equal(ModelFolderKind.Checkpoint, ModelFolder.Detect(merged));
        Assert.Equal(ModelFolderKind.Checkpoint, ModelFolder.Detect(Folder("sharded", "config.json", "model.safetensors.index.json")));
        Assert.Equal(ModelFolderKind.OnnxRuntimeGenAI, ModelFolder.Detect(Folder("genai", "genai_config.json", "model.onnx", "model.safetensors")));
        Assert.Equal(ModelFolderKind.Onnx, ModelFolder.Detect(Folder("optimum", "config.json", "model.onnx")));
        Assert.Equal(ModelFolderKind.Unknown, ModelFolder.Detect(Folder("empty")));
        Assert.Equal(ModelFolderKind.Unknown, ModelFolder.Detect(Path.Combine(_dir, "missing")));
    }

    [Fact]
    public async Task ShardedWeights_AreReadThroughTheIndex_AndAMissingShardIsNamed()
    {
        var first = new SafeTensorsWriter();
        first.Add("a.weight", new float[] { 1, 2, 3, 4 }, [2, 2]);
        var second = new SafeTensorsWriter();
        second.Add("h.0.b.weight", new float[] { 5, 6 }, [2]);
        await first.WriteAsync(Path.Combine(_dir, "model-00001-of-00002.safetensors"));
        await second.WriteAsync(Path.Combine(_dir, "model-00002-of-00002.safetensors"));
        await File.WriteAllTextAsync(Path.Combine(_dir, CheckpointWeightFiles.IndexFileName), """
            {"metadata":{"total_size":24},"weight_map":{"a.weight":"model-00001-of-00002.safetensors","h.0.b.weight":"model-00002-of-00002.safetensors"}}
            """);

        using (var files = CheckpointWeightFiles.Open(_dir))
        {
            Assert.Equal([1f, 2, 3, 4], files.Read("a.weight", [2, 2], null, "test"));
            Assert.Equal([5f, 6], files.Read("transformer.h.0.b.weight", [2], "h.0.b.weight", "test"));
            var missing = Assert.Throws<InvalidDataFileException>(() => files.Read("c.weight", [3], null, "n_layer 1"));
            Assert.Contains("'c.weight' (shape [3])", missing.Message, StringComparison.Ordinal);
            Assert.Contains("n_layer 1", missing.Message, StringComparison.Ordinal);
        }

        File.Delete(Path.Combine(_dir, "model-00002-of-00002.safetensors"));
        var ex = Assert.Throws<InvalidDataFileException>(() => CheckpointWeightFiles.Open(_dir));
        Assert.Contains("model-00002-of-00002.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains(CheckpointWeightFiles.IndexFileName, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoraMerge_AddsScaleTimesBA_InEitherLayout(bool inputMajor)
    {
        const int r = 2, inF = 3, outF = 4;
        var random = new Random(7);
        var a = Enumerable.Range(0, r * inF).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Enumerable.Range(0, outF * r).Select(_ => (float)random.NextDouble()).ToArray();
        var w = Enumerable.Range(0, inF * outF).Select(_ => (float)random.NextDouble()).ToArray();
        var merged = (float[])w.Clone();
        new LoraUpdate("m", r, inF, outF, a, b, 1.5).MergeInto<float>(merged, inputMajor);

        for (var o = 0; o < outF; o++)
        {
            for (var i = 0; i < inF; i++)
            {
                double delta = 0;
                for (var k = 0; k < r; k++)
                {
                    delta += b[(o * r) + k] * (double)a[(k * inF) + i];
                }

                var index = inputMajor ? (i * outF) + o : (o * inF) + i;
                Assert.Equal(w[index] + (1.5 * delta), merged[index], 5);
            }
        }
    }
}
