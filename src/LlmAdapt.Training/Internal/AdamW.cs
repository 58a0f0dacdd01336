namespace LlmAdapt.Training.Internal;

/// <summary>Adam with decoupled weight decay (Loshchilov and Hutter), applied to weights but not biases.</summary>
internal sealed class AdamW
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Epsilon = 1e-8;

    private readonly (float[] Param, float[] Grad, float[] M, float[] V, bool Decay)[] _slots;
    private int _step;

    public AdamW(HeadNetwork network)
    {
        _slots = network.Layers
            .SelectMany(l => new[] { (l.Weight, l.WeightGrad, true), (l.Bias, l.BiasGrad, false) })
            .Select(t => (t.Item1, t.Item2, new float[t.Item1.Length], new float[t.Item1.Length], t.Item3))
            .ToArray();
    }

    /// <summary>Clips the global gradient norm to <paramref name="maxNorm"/> (0 = no clipping) and takes one step.</summary>
    public void Step(double learningRate, double weightDecay, double maxNorm)
    {
        _step++;
        var scale = 1.0;
        if (maxNorm > 0)
        {
            double sumSq = 0;
            foreach (var slot in _slots)
            {
                sumSq += System.Numerics.Tensors.TensorPrimitives.SumOfSquares(slot.Grad);
            }

            var norm = Math.Sqrt(sumSq);
            if (norm > maxNorm)
            {
                scale = maxNorm / norm;
            }
        }

        var correction1 = 1 - Math.Pow(Beta1, _step);
        var correction2 = 1 - Math.Pow(Beta2, _step);
        var stepSize = (float)(learningRate / correction1);
        var sqrtCorrection2 = (float)Math.Sqrt(correction2);
        var b1 = (float)Beta1;
        var b2 = (float)Beta2;
        foreach (var (param, grad, m, v, decay) in _slots)
        {
            var shrink = decay ? (float)(1 - (learningRate * weightDecay)) : 1f;
            for (var i = 0; i < param.Length; i++)
            {
                var g = (float)(grad[i] * scale);
                m[i] = (b1 * m[i]) + ((1 - b1) * g);
                v[i] = (b2 * v[i]) + ((1 - b2) * g * g);
                param[i] = (param[i] * shrink) - (stepSize * m[i] / ((MathF.Sqrt(v[i]) / sqrtCorrection2) + (float)Epsilon));
            }
        }
    }
}
