using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Models.Llama;
using LlmAdapt.Training.Optim;
using LlmAdapt.Training.Tests.Models;
using Xunit.Abstractions;

namespace LlmAdapt.Training.Tests.Lora;

public sealed class LoraTrainingTests(ITestOutputHelper output)
{
    [Fact]
    public void AdamWOnAdapters_LowersTheLossOfAPattern_WhileTheBaseStaysFixed()
    {
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(5);
        var wte = model.Values("transformer.wte.weight");
        for (var i = 0; i < wte.Length; i++)
        {
            wte[i] *= 50;
        }

        var baseValues = model.Parameters.Span.ToArray();
        model.AttachLora(new LoraOptions { Rank = 4, Alpha = 8 }, seed: 1);
        var inputs = Enumerable.Range(0, 16).Select(i => i % 4).ToArray();
        var targets = Enumerable.Range(1, 16).Select(i => i % 4).ToArray();
        var optimizer = new AdamW<float>(model.Trainable);
        var losses = new List<double>();
        for (var step = 0; step < 60; step++)
        {
            losses.Add(model.Forward(inputs, targets, 2, 8));
            model.ZeroGrad();
            model.Backward();
            optimizer.Step(1e-2);
        }

        output.WriteLine(string.Join(" ", losses.Select(l => l.ToString("F2", System.Globalization.CultureInfo.InvariantCulture))));
        Assert.True(losses[^1] < losses[0] / 2, $"loss {losses[0]:F3} -> {losses[^1]:F3}");
        Assert.Equal(baseValues, model.Parameters.Span.ToArray());
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void FrozenWeightsPackedForTheMatrixMultiply_GiveTheSameStep_AndAreDroppedByEveryWriteToTheBase(string family)
    {
        // 2 × 24 = 48 rows: enough for every frozen product to read a packed weight.
        const int b = 2, t = 24;
        var random = new Random(3);
        var inputs = Enumerable.Range(0, b * t).Select(_ => random.Next(40)).ToArray();
        var targets = Enumerable.Range(0, b * t).Select(_ => random.Next(40)).ToArray();

        // One step on a model that packs its frozen weights, and on one allowed no packs (every product packs its slice
        // of each weight again, as before): the same bits.
        var packed = Create(family, scale: 1f);
        var loss = packed.Forward(inputs, targets, b, t);
        Assert.True(packed.FrozenPackBytes > 0, "no frozen weight was packed");
        packed.ZeroGrad();
        packed.Backward();
        var gradients = packed.Lora!.Gradients.Span.ToArray();

        var plain = Create(family, scale: 1f);
        plain.FrozenPackLimitBytes = 0;
        Assert.Equal(loss, plain.Forward(inputs, targets, b, t));
        plain.ZeroGrad();
        plain.Backward();
        Assert.Equal(gradients, plain.Lora!.Gradients.Span.ToArray());
        Assert.Equal(0, plain.FrozenPackBytes);

        // A limit below the whole set packs some weights and not the rest; the packs stay within it.
        var some = Create(family, scale: 1f);
        some.FrozenPackLimitBytes = packed.FrozenPackBytes / 2;
        Assert.Equal(loss, some.Forward(inputs, targets, b, t));
        Assert.InRange(some.FrozenPackBytes, 1, packed.FrozenPackBytes / 2);

        // The same step twice on the packing model (the packs reused) gives the same bits.
        Assert.Equal(loss, packed.Forward(inputs, targets, b, t));
        packed.ZeroGrad();
        packed.Backward();
        Assert.Equal(gradients, packed.Lora!.Gradients.Span.ToArray());

        // A base weight written through Values drops the packs: the next forward sees the new values, as a model
        // built with them from the start does.
        Scale(packed, 1.5f);
        Assert.Equal(0, packed.FrozenPackBytes);
        var changed = packed.Forward(inputs, targets, b, t);
        Assert.NotEqual(loss, changed);
        Assert.Equal(Create(family, scale: 1.5f).Forward(inputs, targets, b, t), changed);

        // So do InitializeRandom, attaching new adapters and merging them: after each the packs are gone, and the
        // next forward packs the base as it is then (the same loss as a model given those weights unpacked).
        Assert.True(packed.FrozenPackBytes > 0);
        packed.InitializeRandom(9);
        Assert.Equal(0, packed.FrozenPackBytes);
        var reinitialised = Create(family, scale: 1f);
        reinitialised.InitializeRandom(9);
        reinitialised.FrozenPackLimitBytes = 0;
        Assert.Equal(reinitialised.Forward(inputs, targets, b, t), packed.Forward(inputs, targets, b, t));
        Assert.True(packed.FrozenPackBytes > 0);
        packed.AttachLora(new LoraOptions { Rank = 4, Alpha = 8 }, seed: 3);
        Assert.Equal(0, packed.FrozenPackBytes);
        packed.Forward(inputs, targets, b, t);
        Assert.True(packed.FrozenPackBytes > 0);
        packed.MergeLora();
        Assert.Equal(0, packed.FrozenPackBytes);
    }

    private static DecoderModel<float> Create(string family, float scale)
    {
        DecoderModel<float> model = family == "gpt2"
            ? new Gpt2Model<float>(new Gpt2Config { VocabSize = 40, ContextLength = 32, Layers = 1, Heads = 2, Channels = 32 })
            : new LlamaModel<float>(new LlamaConfig { VocabSize = 40, ContextLength = 32, Layers = 1, Heads = 4, KeyValueHeads = 2, Channels = 32, IntermediateSize = 48 });
        model.InitializeRandom(7);
        Scale(model, scale);
        var lora = model.AttachLora(new LoraOptions { Rank = 4, Alpha = 8 }, seed: 2);

        // B non-zero, so the adapters change the output (PEFT starts B at zero).
        var random = new Random(4);
        var values = lora.Parameters.Span;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() - 0.5) * 0.2);
        }

        return model;
    }

    private static void Scale(DecoderModel<float> model, float factor)
    {
        foreach (var tensor in model.Tensors.Where(x => x.Name.EndsWith(".weight", StringComparison.Ordinal) && (x.Name.Contains("attn", StringComparison.Ordinal) || x.Name.Contains("mlp", StringComparison.Ordinal))))
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(model.Values(tensor.Name), factor, model.Values(tensor.Name));
        }
    }
}
