using System.Text.Json;
using LlmAdapt.Formats;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Tests.Models;

namespace LlmAdapt.Training.Tests.Lora;

public sealed class LoraAdapterTests
{
    [Fact]
    public async Task Adapter_IsSavedInThePeftLayout_AndLoadsBackExactly()
    {
        var dir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(1);
        var lora = model.AttachLora(new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1, TargetModules = ["c_attn", "mlp.c_proj"] }, seed: 2);
        var random = new Random(3);
        for (var i = 0; i < lora.Parameters.Length; i++)
        {
            lora.Parameters.Span[i] = (float)random.NextDouble();
        }

        await LoraAdapterFile.SaveAsync(model, dir, "/models/base", CancellationToken.None);

        using (var reader = SafeTensorsReader.Open(Path.Combine(dir, "adapter_model.safetensors")))
        {
            Assert.Equal(2 * 2 * 2, reader.Tensors.Count);
            Assert.Equal([4L, 8], reader.Tensors["base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"].Shape);
            Assert.Equal([24L, 4], reader.Tensors["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"].Shape);
            Assert.Equal([4L, 32], reader.Tensors["base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight"].Shape);
            Assert.False(reader.Contains("base_model.model.transformer.h.0.attn.c_proj.lora_A.weight"));
        }

        using (var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "adapter_config.json"))))
        {
            var root = config.RootElement;
            Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
            Assert.Equal(4, root.GetProperty("r").GetInt32());
            Assert.Equal(8, root.GetProperty("lora_alpha").GetDouble());
            Assert.True(root.GetProperty("fan_in_fan_out").GetBoolean());
            Assert.Equal("/models/base", root.GetProperty("base_model_name_or_path").GetString());
        }

        var fresh = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        var loaded = await LoraAdapterFile.LoadAsync(fresh, dir, CancellationToken.None);
        Assert.Equal(lora.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
        Assert.Equal(0.1, loaded.Options.Dropout, 12);
    }

    [Fact]
    public void FreshAdapter_LeavesTheModelUnchanged_AndTrainsFarFewerParameters()
    {
        var config = new Gpt2Config { VocabSize = 5000, ContextLength = 16, Layers = 2, Heads = 2, Channels = 32 };
        var model = new Gpt2Model<float>(config);
        model.InitializeRandom(4);
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(1, 16, 5000, 5);
        var before = model.Forward(inputs, targets, 1, 16);
        model.AttachLora(new LoraOptions { Rank = 2 }, seed: 6);
        Assert.Equal(before, model.Forward(inputs, targets, 1, 16), 6);
        var trainable = model.Trainable.Sum(s => (long)s.Length);
        Assert.True(trainable < config.ParameterCount * 0.02, $"{trainable} of {config.ParameterCount}");
    }

    [Fact]
    public void UnknownTargetModule_IsRejected_ListingTheProjections()
    {
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        var ex = Assert.Throws<ArgumentException>(() => model.AttachLora(new LoraOptions { TargetModules = ["q_proj"] }, 0));
        Assert.Contains("attn.c_attn", ex.Message, StringComparison.Ordinal);
    }
}
