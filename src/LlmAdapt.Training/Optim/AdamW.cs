using System.Globalization;
using System.Numerics;
using LlmAdapt.Formats;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.Optim;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter): moments per trainable value, bias-corrected, decay applied
/// to matrices only. State saves to and loads from safetensors (<c>m.NAME</c>, <c>v.NAME</c>) for resuming.
/// </summary>
internal sealed class AdamW<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<TrainableSlice<T>> _slices;
    private readonly float[][] _m;
    private readonly float[][] _v;

    public AdamW(IReadOnlyList<TrainableSlice<T>> slices, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.0)
    {
        _slices = slices;
        _m = slices.Select(s => new float[s.Length]).ToArray();
        _v = slices.Select(s => new float[s.Length]).ToArray();
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    public double WeightDecay { get; }

    /// <summary>Gets the number of updates applied.</summary>
    public int StepCount { get; private set; }

    /// <summary>Returns the global L2 norm of the gradients and scales them down to <paramref name="maxNorm"/> if above it.</summary>
    public double ClipGradients(double maxNorm)
    {
        var sum = 0.0;
        foreach (var s in _slices)
        {
            foreach (var g in s.Gradients.Span.Slice(s.Offset, s.Length))
            {
                var d = double.CreateTruncating(g);
                sum += d * d;
            }
        }

        var norm = Math.Sqrt(sum);
        if (maxNorm > 0 && norm > maxNorm && double.IsFinite(norm))
        {
            var scale = T.CreateChecked(maxNorm / norm);
            foreach (var s in _slices)
            {
                var span = s.Gradients.Span.Slice(s.Offset, s.Length);
                System.Numerics.Tensors.TensorPrimitives.Multiply(span, scale, span);
            }
        }

        return norm;
    }

    /// <summary>Applies one update at learning rate <paramref name="learningRate"/>.</summary>
    public void Step(double learningRate)
    {
        StepCount++;
        var c1 = 1 - Math.Pow(Beta1, StepCount);
        var c2 = 1 - Math.Pow(Beta2, StepCount);
        float b1 = (float)Beta1, b2 = (float)Beta2, lr = (float)learningRate, eps = (float)Epsilon;
        float ic1 = (float)(1 / c1), ic2 = (float)(1 / c2);
        Parallel.For(0, _slices.Count, new ParallelOptions { MaxDegreeOfParallelism = Kernels.MatMul.MaxThreads }, k =>
        {
            var s = _slices[k];
            var p = s.Values.Span.Slice(s.Offset, s.Length);
            var g = s.Gradients.Span.Slice(s.Offset, s.Length);
            var m = _m[k];
            var v = _v[k];
            var decay = s.Decay ? (float)WeightDecay : 0f;
            for (var i = 0; i < p.Length; i++)
            {
                var gi = float.CreateTruncating(g[i]);
                m[i] = (b1 * m[i]) + ((1 - b1) * gi);
                v[i] = (b2 * v[i]) + ((1 - b2) * gi * gi);
                var update = (m[i] * ic1 / (MathF.Sqrt(v[i] * ic2) + eps)) + (decay * float.CreateTruncating(p[i]));
                p[i] -= T.CreateTruncating(lr * update);
            }
        });
    }

    /// <summary>Adds the moments and step count to a safetensors writer.</summary>
    public void Save(SafeTensorsWriter writer)
    {
        writer.Metadata["optimizer"] = "adamw";
        writer.Metadata["step"] = StepCount.ToString(CultureInfo.InvariantCulture);
        for (var k = 0; k < _slices.Count; k++)
        {
            writer.Add("m." + _slices[k].Name, _m[k], [_m[k].Length]);
            writer.Add("v." + _slices[k].Name, _v[k], [_v[k].Length]);
        }
    }

    /// <summary>Restores the moments and step count; shapes are checked against the model.</summary>
    public void Load(SafeTensorsReader reader)
    {
        for (var k = 0; k < _slices.Count; k++)
        {
            reader.ReadSingle("m." + _slices[k].Name, [_m[k].Length]).CopyTo(_m[k], 0);
            reader.ReadSingle("v." + _slices[k].Name, [_v[k].Length]).CopyTo(_v[k], 0);
        }

        StepCount = reader.Metadata.TryGetValue("step", out var step) ? int.Parse(step, CultureInfo.InvariantCulture) : 0;
    }
}
