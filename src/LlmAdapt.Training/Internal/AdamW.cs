using System.Numerics;

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
        var gradScale = (float)scale;
        var oneMinusB1 = 1 - b1;
        var oneMinusB2 = 1 - b2;
        var epsilon = (float)Epsilon;
        var invSqrtCorrection2 = 1 / sqrtCorrection2;
        foreach (var (param, grad, m, v, decay) in _slots)
        {
            var shrink = decay ? (float)(1 - (learningRate * weightDecay)) : 1f;
            var i = 0;
            if (Vector.IsHardwareAccelerated && param.Length >= Vector<float>.Count)
            {
                var vb1 = new Vector<float>(b1);
                var vb2 = new Vector<float>(b2);
                var v1b1 = new Vector<float>(oneMinusB1);
                var v1b2 = new Vector<float>(oneMinusB2);
                var vScale = new Vector<float>(gradScale);
                var vShrink = new Vector<float>(shrink);
                var vStep = new Vector<float>(stepSize);
                var vEps = new Vector<float>(epsilon);
                var vInv = new Vector<float>(invSqrtCorrection2);
                for (; i <= param.Length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var g = new Vector<float>(grad, i) * vScale;
                    var mi = (vb1 * new Vector<float>(m, i)) + (v1b1 * g);
                    var vi = (vb2 * new Vector<float>(v, i)) + (v1b2 * g * g);
                    mi.CopyTo(m, i);
                    vi.CopyTo(v, i);
                    var p = (new Vector<float>(param, i) * vShrink) - (vStep * mi / ((Vector.SquareRoot(vi) * vInv) + vEps));
                    p.CopyTo(param, i);
                }
            }

            for (; i < param.Length; i++)
            {
                var g = grad[i] * gradScale;
                m[i] = (b1 * m[i]) + (oneMinusB1 * g);
                v[i] = (b2 * v[i]) + (oneMinusB2 * g * g);
                param[i] = (param[i] * shrink) - (stepSize * m[i] / ((MathF.Sqrt(v[i]) * invSqrtCorrection2) + epsilon));
            }
        }
    }
}
