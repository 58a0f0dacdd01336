using LlmAdapt.Training.Dpo;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Models.Llama;
using LlmAdapt.Training.Tests.Models;
using Xunit.Abstractions;

namespace LlmAdapt.Training.Tests.Dpo;

/// <summary>The DPO backward (per-pair coefficients through the cross-entropy backward) against finite differences in float64.</summary>
public sealed class DpoGradientCheckTests(ITestOutputHelper log)
{
    private const int T = 8;

    public static TheoryData<DpoLossType, double> Losses => new()
    {
        { DpoLossType.Sigmoid, 0.0 },
        { DpoLossType.Sigmoid, 0.1 },
        { DpoLossType.Ipo, 0.0 },
        { DpoLossType.Robust, 0.2 },
        { DpoLossType.Hinge, 0.0 },
    };

    /// <summary>Three pairs with prompts and responses of different lengths, padded into a batch of four.</summary>
    internal static TokenizedPair[] Pairs(int vocab, int seed)
    {
        var random = new Random(seed);
        int[] Draw(int n) => Enumerable.Range(0, n).Select(_ => random.Next(vocab)).ToArray();
        return [new(Draw(3), Draw(4), Draw(2)), new(Draw(1), Draw(5), Draw(7)), new(Draw(4), Draw(3), Draw(4))];
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void LoraAdapters_MatchFiniteDifferences_ForEveryLoss(DpoLossType type, double smoothing)
    {
        var model = new Gpt2Model<double>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(21);
        var lora = model.AttachLora(new LoraOptions { Rank = 2, Alpha = 4 }, seed: 22);
        ModelGradientCheck.Perturb(lora.Parameters.Span, lora.Parameters.Length, 23, 0.6, replace: true);
        var worst = Check(model, type, smoothing, model.Trainable.Select(s => (s.Values, s.Gradients)));
        Assert.Null(model.Gradients);
        log.WriteLine($"{type} (ε {smoothing}), GPT-2 + LoRA: worst relative error {worst:E2}");
    }

    [Theory]
    [MemberData(nameof(Losses))]
    public void EveryLlamaWeight_MatchesFiniteDifferences_ForEveryLoss(DpoLossType type, double smoothing)
    {
        var config = new LlamaConfig { VocabSize = 19, ContextLength = T, Layers = 1, Heads = 2, KeyValueHeads = 1, Channels = 8, IntermediateSize = 12 };
        var model = new LlamaModel<double>(config);
        model.InitializeRandom(31);
        ModelGradientCheck.Perturb(model.Parameters.Span, model.Parameters.Length, 32, 0.4);
        model.ZeroGrad();
        _ = model.Trainable;
        var worst = Check(model, type, smoothing, model.Tensors.Select(x => (model.Parameters.Memory.Slice(x.Offset, x.Length), model.Gradients!.Memory.Slice(x.Offset, x.Length))));
        log.WriteLine($"{type} (ε {smoothing}), Llama full: worst relative error {worst:E2}");
    }

    private static double Check(LlmAdapt.Training.Models.DecoderModel<double> model, DpoLossType type, double smoothing, IEnumerable<(Memory<double> Values, Memory<double> Gradients)> tensors)
    {
        var pairs = Pairs(model.VocabSize, 5);
        var loss = new DpoLoss(type, type == DpoLossType.Ipo ? 0.5 : 0.3, smoothing);

        // Reference sums a few nats from the policy's, so every loss sits away from its kinks and flat parts.
        var (inputs, targets) = DpoPairs.Pack(pairs, 4, T);
        model.Forward(inputs, targets, 8, T);
        var sums = new double[8];
        model.SumTargetLogProbs(sums);
        var reference = (new[] { (float)(sums[0] + 0.7), (float)(sums[1] - 1.3), (float)(sums[2] + 2.1) }, new[] { (float)(sums[4] - 0.4), (float)(sums[5] + 0.9), (float)(sums[6] - 1.7) });
        model.ZeroGrad();
        DpoObjective.Step(model, loss, pairs, reference, 4, T, 1.0, backward: true, null);
        var checkedTensors = tensors.Select(x => (x.Values, Gradients: x.Gradients.ToArray())).ToList();
        double Loss() => DpoObjective.Step(model, loss, pairs, reference, 4, T, 1.0, backward: false, null);
        var worst = 0.0;
        foreach (var (index, (values, grads)) in checkedTensors.Index())
        {
            var error = GradientCheck.MaxRelativeError(values, 0, values.Length, Loss, i => grads[i], samples: 6);
            Assert.True(error < ModelGradientCheck.Tolerance, $"{type}: tensor {index}: relative error {error:E2}");
            worst = Math.Max(worst, error);
        }

        return worst;
    }

    [Fact]
    public void PairLoss_MatchesTheFormulas_AndItsDerivative()
    {
        // Δ = (−3 − −4) − (−6 − −5) = 2; β = 0.1: sigmoid −log σ(0.2), ipo (2 − 5)², hinge 1 − 0.2.
        Assert.Equal(Math.Log(1 + Math.Exp(-0.2)), new DpoLoss(DpoLossType.Sigmoid, 0.1, 0).Evaluate(-3, -6, -4, -5, 1, 1).Loss, 12);
        Assert.Equal(9.0, new DpoLoss(DpoLossType.Ipo, 0.1, 0).Evaluate(-3, -6, -4, -5, 1, 1).Loss, 12);
        Assert.Equal(0.8, new DpoLoss(DpoLossType.Hinge, 0.1, 0).Evaluate(-3, -6, -4, -5, 1, 1).Loss, 12);
        var robust = new DpoLoss(DpoLossType.Robust, 0.1, 0.25).Evaluate(-3, -6, -4, -5, 1, 1);
        Assert.Equal(((0.75 * Math.Log(1 + Math.Exp(-0.2))) - (0.25 * Math.Log(1 + Math.Exp(0.2)))) / 0.5, robust.Loss, 12);
        Assert.Equal(0.1, robust.RewardChosen, 12);
        Assert.Equal(-0.1, robust.RewardRejected, 12);
        foreach (var type in Enum.GetValues<DpoLossType>())
        {
            var l = new DpoLoss(type, 0.3, type == DpoLossType.Robust ? 0.1 : 0);
            var (_, dc, dr, _, _) = l.Evaluate(-3, -6, -4, -5, 3, 5);
            const double h = 1e-6;
            Assert.Equal((l.Evaluate(-3 + h, -6, -4, -5, 3, 5).Loss - l.Evaluate(-3 - h, -6, -4, -5, 3, 5).Loss) / (2 * h), dc, 6);
            Assert.Equal((l.Evaluate(-3, -6 + h, -4, -5, 3, 5).Loss - l.Evaluate(-3, -6 - h, -4, -5, 3, 5).Loss) / (2 * h), dr, 6);
        }
    }
}
