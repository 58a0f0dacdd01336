using LlmAdapt.Training.Models;
using LlmAdapt.Formats;
using LlmAdapt.Training.Models.Llama;

namespace LlmAdapt.Training.Tests.Models;

public sealed class LlamaCheckpointTests
{
    private static readonly LlamaConfig Tiny = new() { VocabSize = 19, ContextLength = 8, Layers = 2, Heads = 4, KeyValueHeads = 2, Channels = 16, IntermediateSize = 24, TieWordEmbeddings = false };

    [Fact]
    public async Task SaveAndLoad_RoundTrips_WithHuggingFaceLlamaNamesAndShapes()
    {
        var dir = TestData.TempDirectory();
        var model = new LlamaModel<float>(Tiny);
        model.InitializeRandom(1);
        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);
        using (var reader = SafeTensorsReader.Open(Path.Combine(dir, "model.safetensors")))
        {
            Assert.Equal([8L, 16], reader.Tensors["model.layers.0.self_attn.k_proj.weight"].Shape);
            Assert.Equal([24L, 16], reader.Tensors["model.layers.1.mlp.gate_proj.weight"].Shape);
            Assert.Equal([19L, 16], reader.Tensors["lm_head.weight"].Shape);
        }

        var config = await HuggingFaceModelConfig.ReadAsync(dir);
        Assert.Equal("llama", config.ModelType);
        Assert.Equal(2, config.NumKeyValueHeads);
        var loaded = (LlamaModel<float>)await DecoderCheckpoint.LoadAsync(dir, CancellationToken.None);
        Assert.Equal(Tiny, loaded.Config);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
    }

    [Fact]
    public async Task Load_WhenKeyValueHeadsDisagreeWithTheTensors_NamesTheTensorAndBothShapes()
    {
        var dir = TestData.TempDirectory();
        await DecoderCheckpoint.SaveAsync(new LlamaModel<float>(Tiny), dir, CancellationToken.None);
        await LlamaCheckpoint.ToHuggingFace(Tiny with { KeyValueHeads = 4 }).WriteAsync(Path.Combine(dir, "config.json"));
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => DecoderCheckpoint.LoadAsync(dir, CancellationToken.None));
        Assert.Contains("model.layers.0.self_attn.k_proj.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 16]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[16, 16]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_ReadsAShardedCheckpoint_ThroughItsIndex()
    {
        var dir = TestData.TempDirectory();
        var model = new LlamaModel<float>(Tiny);
        model.InitializeRandom(3);

        // Two shards as transformers writes them: layer 0 and the embedding in the first, the rest in the second.
        var first = new SafeTensorsWriter();
        var second = new SafeTensorsWriter();
        var map = new Dictionary<string, string>();
        foreach (var tensor in model.Tensors)
        {
            var inFirst = tensor.Name.StartsWith("model.layers.0.", StringComparison.Ordinal) || tensor.Name == "model.embed_tokens.weight";
            (inFirst ? first : second).Add(tensor.Name, model.Values(tensor.Name), tensor.Shape);
            map[tensor.Name] = inFirst ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
        }

        await first.WriteAsync(Path.Combine(dir, "model-00001-of-00002.safetensors"));
        await second.WriteAsync(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        await File.WriteAllTextAsync(Path.Combine(dir, "model.safetensors.index.json"), System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        await LlamaCheckpoint.ToHuggingFace(Tiny).WriteAsync(Path.Combine(dir, "config.json"));

        var loaded = (LlamaModel<float>)await DecoderCheckpoint.LoadAsync(dir, CancellationToken.None);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());

        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => DecoderCheckpoint.LoadAsync(dir, CancellationToken.None));
        Assert.Contains("model-00002-of-00002.safetensors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeadDim_IsReadFromConfigJson_AndWrittenBack()
    {
        var dir = TestData.TempDirectory();
        var config = Tiny with { HeadDim = 6 };
        var model = new LlamaModel<float>(config);
        model.InitializeRandom(5);
        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);

        Assert.Equal(6, (await HuggingFaceModelConfig.ReadAsync(dir)).HeadDim);
        var loaded = (LlamaModel<float>)await DecoderCheckpoint.LoadAsync(dir, CancellationToken.None);
        Assert.Equal(config, loaded.Config);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
    }

    [Theory]
    [InlineData("{\"rope_type\": \"llama3\", \"factor\": 8.0}", "the ONNX exporter applies")]
    [InlineData("{\"rope_type\": \"dynamic\", \"factor\": 2.0}", "none, default, linear and llama3")]
    public async Task RopeScaling_IsRefusedByTheEngine_NamingIt(string scaling, string expected)
    {
        var dir = TestData.TempDirectory();
        await DecoderCheckpoint.SaveAsync(new LlamaModel<float>(Tiny), dir, CancellationToken.None);
        var file = Path.Combine(dir, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject();
        json["rope_scaling"] = System.Text.Json.Nodes.JsonNode.Parse(scaling);
        await File.WriteAllTextAsync(file, json.ToJsonString());

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => DecoderCheckpoint.LoadAsync(dir, CancellationToken.None));
        Assert.Contains("rope_scaling", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains(file, ex.Message, StringComparison.Ordinal);

        // rope_type "default" is plain rotary embeddings, which the engine trains.
        json["rope_scaling"] = System.Text.Json.Nodes.JsonNode.Parse("{\"rope_type\": \"default\"}");
        await File.WriteAllTextAsync(file, json.ToJsonString());
        Assert.Equal(Tiny, ((LlamaModel<float>)await DecoderCheckpoint.LoadAsync(dir, CancellationToken.None)).Config);
    }
}
