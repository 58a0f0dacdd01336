using LlmAdapt.Training.Models;
using System.Text.Json;
using LlmAdapt.Formats;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Training.Tests.Models;

public sealed class Gpt2CheckpointTests
{
    [Fact]
    public async Task SaveAndLoad_RoundTripsEveryWeight_InTheHuggingFaceLayout()
    {
        var dir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(1);
        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);

        using (var reader = SafeTensorsReader.Open(Path.Combine(dir, "model.safetensors")))
        {
            Assert.Equal([8L, 24], reader.Tensors["transformer.h.0.attn.c_attn.weight"].Shape);
            Assert.Equal([32L, 8], reader.Tensors["transformer.h.1.mlp.c_proj.weight"].Shape);
            Assert.Equal([23L, 8], reader.Tensors["transformer.wte.weight"].Shape);
            Assert.Equal("pt", reader.Metadata["format"]);
            Assert.Equal(2 + (2 * 12) + 2, reader.Tensors.Count);
        }

        using (var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "config.json"))))
        {
            Assert.Equal("gpt2", config.RootElement.GetProperty("model_type").GetString());
            Assert.Equal(8, config.RootElement.GetProperty("n_embd").GetInt32());
            Assert.Equal(2, config.RootElement.GetProperty("n_layer").GetInt32());
            Assert.Equal("GPT2LMHeadModel", config.RootElement.GetProperty("architectures")[0].GetString());
        }

        var loaded = (Gpt2Model<float>)await DecoderCheckpoint.LoadAsync(dir, CancellationToken.None);
        Assert.Equal(model.Config, loaded.Config);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
    }

    [Fact]
    public async Task Load_AcceptsTheBareNamesOfOriginalGpt2Checkpoints()
    {
        var dir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(2);
        var writer = new SafeTensorsWriter();
        foreach (var t in model.Tensors)
        {
            writer.Add(t.Name["transformer.".Length..], model.Values(t.Name), t.Shape);
        }

        await writer.WriteAsync(Path.Combine(dir, "model.safetensors"));
        await Gpt2Checkpoint.ToHuggingFace(model.Config).WriteAsync(Path.Combine(dir, "config.json"));
        var loaded = (Gpt2Model<float>)await DecoderCheckpoint.LoadAsync(dir, CancellationToken.None);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
    }

    [Fact]
    public async Task Load_WhenATensorDoesNotMatchTheConfig_NamesTheTensorAndBothShapes()
    {
        var dir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);
        var wider = Gpt2Checkpoint.ToHuggingFace(Gpt2GradientCheckTests.Tiny with { Channels = 16 });
        await wider.WriteAsync(Path.Combine(dir, "config.json"));

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => DecoderCheckpoint.LoadAsync(dir, CancellationToken.None));
        Assert.Contains("transformer.wte.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[23, 8]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[23, 16]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_WhenTheSafetensorsHeaderIsBroken_Throws()
    {
        var dir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);
        var bytes = await File.ReadAllBytesAsync(Path.Combine(dir, "model.safetensors"));
        bytes[9] = (byte)'#';
        await File.WriteAllBytesAsync(Path.Combine(dir, "model.safetensors"), bytes);
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => DecoderCheckpoint.LoadAsync(dir, CancellationToken.None));
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_WhenTheConfigIsNotGpt2_ThrowsModelLoadException()
    {
        var dir = TestData.TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"), """{"model_type":"bert","vocab_size":30522}""");
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => DecoderCheckpoint.LoadAsync(dir, CancellationToken.None));
        Assert.Contains("bert", ex.Message, StringComparison.Ordinal);
    }
}
