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
        ModelGradientCheck.Perturb(model.Parameters.Span, model.Parameters.Length, 3, 0.4);
        var (inputs, targets) = Batch(2, 6, Tiny.VocabSize, 2, maskSome: true);
        var worst = ModelGradientCheck.EveryTensor(model, inputs, targets, 2, 6, samples: 12);
        log.WriteLine($"GPT-2 whole model: worst relative error {worst:E2}");
    }

    [Fact]
    public void WholeModelWithLora_AdapterGradientsMatchFiniteDifferences_AndBaseStaysFrozen()
    {
        var model = new Gpt2Model<double>(Tiny);
        model.InitializeRandom(4);
        var lora = model.AttachLora(new LoraOptions { Rank = 2, Alpha = 4, TargetModules = ["c_attn", "c_proj", "c_fc"] }, seed: 5);
        Assert.Equal(2 * 4, lora.Modules.Count);
        var (inputs, targets) = Batch(2, 5, Tiny.VocabSize, 7, maskSome: true);
        var worst = ModelGradientCheck.Adapters(model, inputs, targets, 2, 5, seed: 6);
        log.WriteLine($"GPT-2 + LoRA: worst relative error {worst:E2}");
    }

    [Fact]
    public void MergedLora_GivesTheSameLogitsAsTheAdaptedModel()
    {
        var model = new Gpt2Model<double>(Tiny);
        model.InitializeRandom(8);
        model.AttachLora(new LoraOptions { Rank = 3, Alpha = 6 }, seed: 9);
        var (inputs, targets) = Batch(1, 7, Tiny.VocabSize, 11);
        ModelGradientCheck.MergeMatchesAdapted(model, inputs, targets, 7, seed: 10);
    }

    [Fact]
    public void FloatModel_AgreesWithDoubleModel()
    {
        var d = new Gpt2Model<double>(Tiny);
        d.InitializeRandom(12);
        var f = new Gpt2Model<float>(Tiny);
        for (var i = 0; i < d.Parameters.Length; i++)
        {
            f.Parameters.Span[i] = (float)d.Parameters.Span[i];
        }

        var (inputs, targets) = Batch(2, 8, Tiny.VocabSize, 13);
        var lossD = d.Forward(inputs, targets, 2, 8);
        var lossF = f.Forward(inputs, targets, 2, 8);
        Assert.Equal(lossD, lossF, 4);
        d.ZeroGrad();
        d.Backward();
        f.ZeroGrad();
        f.Backward();
        var maxD = d.Gradients!.Span.ToArray().Max(Math.Abs);
        var diff = d.Gradients.Span.ToArray().Zip(f.Gradients!.Span.ToArray(), (a, b) => Math.Abs(a - b)).Max();
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
