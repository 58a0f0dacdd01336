using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Gpt2;
using Xunit.Abstractions;

namespace LlmAdapt.Training.Tests.Models;

public sealed class Gpt2GradientCheckTests(ITestOutputHelper log)
{
    internal static readonly Gpt2Config Tiny = new() { VocabSize = 23, ContextLength = 8, Layers = 2, Heads = 2, Channels = 8 };

    internal static (int[] Inputs, int[] Targets) Batch(int b, int t, int vocab, int seed, bool maskSome = false)
    {
        var random = new Random(seed);
        var inputs = Enumerable.Range(0, b * t).Select(_ => random.Next(vocab)).ToArray();
        var targets = Enumerable.Range(0, b * t).Select(i => maskSome && i % 3 == 0 ? -1 : random.Next(vocab)).ToArray();
        return (inputs, targets);
    }

    [Fact]
    public void WholeModel_EveryParameterTensor_MatchesFiniteDifferences()
    {
        var model = new Gpt2Model<double>(Tiny);
        model.InitializeRandom(1);

        // Larger-than-default weights so every path (attention, GELU curvature) carries signal.
        var values = model.Parameters.Array;
        var random = new Random(3);
        for (var i = 0; i < model.Parameters.Length; i++)
        {
            values[i] += (random.NextDouble() - 0.5) * 0.4;
        }

        var (inputs, targets) = Batch(2, 6, Tiny.VocabSize, 2, maskSome: true);
        model.Forward(inputs, targets, 2, 6);
        model.ZeroGrad();
        model.Backward();
        var grads = model.Gradients!.Array;
        double Loss() => model.Forward(inputs, targets, 2, 6);

        var worst = 0.0;
        foreach (var tensor in model.Tensors)
        {
            var error = GradientCheck.MaxRelativeError(values, tensor.Offset, tensor.Length, Loss, i => grads[tensor.Offset + i], samples: 12);
            Assert.True(error < 1e-3, $"{tensor.Name}: relative error {error:E2}");
            worst = Math.Max(worst, error);
        }

        log.WriteLine($"GPT-2 whole model: worst relative error {worst:E2}");
        Assert.True(worst < 1e-3);
    }

    [Fact]
    public void WholeModelWithLora_AdapterGradientsMatchFiniteDifferences_AndBaseStaysFrozen()
    {
        var model = new Gpt2Model<double>(Tiny);
        model.InitializeRandom(4);
        var lora = model.AttachLora(new LoraOptions { Rank = 2, Alpha = 4, TargetModules = ["c_attn", "c_proj", "c_fc"] }, seed: 5);

        // B starts at zero (so A would get no gradient); give it values so both matrices are checked.
        var random = new Random(6);
        var values = lora.Parameters.Array;
        for (var i = 0; i < lora.Parameters.Length; i++)
        {
            values[i] = (random.NextDouble() - 0.5) * 0.6;
        }

        Assert.Equal(2 * 4, lora.Modules.Count);
        var (inputs, targets) = Batch(2, 5, Tiny.VocabSize, 7, maskSome: true);
        model.Forward(inputs, targets, 2, 5);
        model.ZeroGrad();
        model.Backward();
        double Loss() => model.Forward(inputs, targets, 2, 5);
        var worst = 0.0;
        foreach (var slice in model.Trainable)
        {
            var error = GradientCheck.MaxRelativeError(values, slice.Offset, slice.Length, Loss, i => lora.Gradients.Array[slice.Offset + i], samples: 12);
            Assert.True(error < 1e-3, $"{slice.Name}: relative error {error:E2}");
            worst = Math.Max(worst, error);
        }

        log.WriteLine($"GPT-2 + LoRA: worst relative error {worst:E2}");

        Assert.All(model.Gradients!.Array, g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void MergedLora_GivesTheSameLogitsAsTheAdaptedModel()
    {
        var model = new Gpt2Model<double>(Tiny);
        model.InitializeRandom(8);
        var lora = model.AttachLora(new LoraOptions { Rank = 3, Alpha = 6 }, seed: 9);
        var random = new Random(10);
        for (var i = 0; i < lora.Parameters.Length; i++)
        {
            lora.Parameters.Array[i] = (random.NextDouble() - 0.5) * 0.5;
        }

        var (inputs, targets) = Batch(1, 7, Tiny.VocabSize, 11);
        var adapted = model.Forward(inputs, targets, 1, 7);
        var adaptedProbs = model.Probabilities.Span.ToArray();
        model.MergeLora();
        var merged = model.Forward(inputs, targets, 1, 7);
        Assert.Equal(adapted, merged, 10);
        Assert.Equal(adaptedProbs.Length, model.Probabilities.Length);
        for (var i = 0; i < adaptedProbs.Length; i++)
        {
            Assert.Equal(adaptedProbs[i], model.Probabilities.Array[i], 10);
        }
    }

    [Fact]
    public void FloatModel_AgreesWithDoubleModel()
    {
        var d = new Gpt2Model<double>(Tiny);
        d.InitializeRandom(12);
        var f = new Gpt2Model<float>(Tiny);
        for (var i = 0; i < d.Parameters.Length; i++)
        {
            f.Parameters.Array[i] = (float)d.Parameters.Array[i];
        }

        var (inputs, targets) = Batch(2, 8, Tiny.VocabSize, 13);
        var lossD = d.Forward(inputs, targets, 2, 8);
        var lossF = f.Forward(inputs, targets, 2, 8);
        Assert.Equal(lossD, lossF, 4);
        d.ZeroGrad();
        d.Backward();
        f.ZeroGrad();
        f.Backward();
        var maxD = d.Gradients!.Array.Max(Math.Abs);
        var diff = d.Gradients.Array.Zip(f.Gradients!.Array, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff / maxD < 1e-4, $"float vs double gradients differ by {diff / maxD:E2} relative");
    }

    [Fact]
    public void Forward_RejectsSequencesLongerThanTheContext()
    {
        var model = new Gpt2Model<float>(Tiny);
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(new int[9], null, 1, 9));
        Assert.Contains("9 tokens, context is 8", ex.Message, StringComparison.Ordinal);
    }
}
