using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.Tests.Models;

/// <summary>Whole-model gradient checks shared by every decoder family: each tensor (or adapter) against finite differences.</summary>
internal static class ModelGradientCheck
{
    public const double Tolerance = 1e-3;

    /// <summary>Adds U(−spread/2, spread/2) to every value, so every path (attention, curvature of the activations) carries signal.</summary>
    public static void Perturb(Span<double> values, int count, int seed, double spread, bool replace = false)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var draw = (random.NextDouble() - 0.5) * spread;
            values[i] = replace ? draw : values[i] + draw;
        }
    }

    /// <summary>Checks every parameter tensor's gradient; returns the worst relative error (each below the tolerance).</summary>
    public static double EveryTensor(DecoderModel<double> model, int[] inputs, int[] targets, int b, int t, int samples, float[]? weights = null)
    {
        model.Forward(inputs, targets, b, t, weights);
        model.ZeroGrad();
        model.Backward();
        var values = model.Parameters.Memory;
        var grads = model.Gradients!.Memory;
        double Loss() => model.Forward(inputs, targets, b, t, weights);
        var worst = 0.0;
        foreach (var tensor in model.Tensors)
        {
            var error = GradientCheck.MaxRelativeError(values, tensor.Offset, tensor.Length, Loss, i => grads.Span[tensor.Offset + i], samples);
            Assert.True(error < Tolerance, $"{tensor.Name}: relative error {error:E2}");
            worst = Math.Max(worst, error);
        }

        return worst;
    }

    /// <summary>
    /// Checks every adapter matrix of an attached LoRA (after giving B non-zero values, since B = 0 would leave A no
    /// gradient) and that the frozen base gets none; returns the worst relative error.
    /// </summary>
    public static double Adapters(DecoderModel<double> model, int[] inputs, int[] targets, int b, int t, int seed)
    {
        var lora = model.Lora!;
        Perturb(lora.Parameters.Span, lora.Parameters.Length, seed, 0.6, replace: true);
        model.Forward(inputs, targets, b, t);
        model.ZeroGrad();
        model.Backward();
        double Loss() => model.Forward(inputs, targets, b, t);
        var worst = 0.0;
        foreach (var slice in model.Trainable)
        {
            var error = GradientCheck.MaxRelativeError(slice.Values, 0, slice.Length, Loss, i => slice.Gradients.Span[i], samples: 12);
            Assert.True(error < Tolerance, $"{slice.Name}: relative error {error:E2}");
            worst = Math.Max(worst, error);
        }

        Assert.Null(model.Gradients);
        return worst;
    }

    /// <summary>Checks that merging the adapters into the base gives the adapted model's loss and probabilities.</summary>
    public static void MergeMatchesAdapted(DecoderModel<double> model, int[] inputs, int[] targets, int t, int seed)
    {
        var lora = model.Lora!;
        Perturb(lora.Parameters.Span, lora.Parameters.Length, seed, 0.5, replace: true);
        var adapted = model.Forward(inputs, targets, 1, t);
        var adaptedProbs = model.Probabilities.Span.ToArray();
        model.MergeLora();
        Assert.Null(model.Lora);
        var merged = model.Forward(inputs, targets, 1, t);
        Assert.Equal(adapted, merged, 10);
        for (var i = 0; i < adaptedProbs.Length; i++)
        {
            Assert.Equal(adaptedProbs[i], model.Probabilities.Span[i], 10);
        }
    }
}
