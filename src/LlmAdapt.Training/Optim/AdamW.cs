using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using LlmAdapt.Formats;
using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.Optim;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter), the one optimiser of the engine (decoders, LoRA adapters,
/// task heads): moments per trainable value, bias-corrected, decay applied to slices marked for it (matrices).
/// <see cref="ClipGradients"/> measures the global norm (per chunk on the threads, summed in chunk order); the clip scale it decides is applied inside the next
/// <see cref="Step"/>, which updates every parameter in one fused pass (gradient scale, both moments, decay and the
/// update per element), cut into equal chunks across the slices for the threads. State saves to and loads from
/// safetensors (<c>m.NAME</c>, <c>v.NAME</c>) for resuming.
/// </summary>
internal sealed class AdamW<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    // Elements per parallel chunk: large enough that a chunk costs far more than handing it out.
    private const int ChunkSize = 1 << 16;

    private readonly IReadOnlyList<TrainableSlice<T>> _slices;
    private readonly long[] _starts;
    private readonly PinnedBuffer<float> _m;
    private readonly PinnedBuffer<float> _v;
    private readonly (int Slice, int First, int Length)[] _chunks;
    private readonly double[] _chunkSums;
    private double _pendingScale = 1.0;

    public AdamW(IReadOnlyList<TrainableSlice<T>> slices, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.0)
    {
        _slices = slices;
        _starts = new long[slices.Count + 1];
        var chunks = new List<(int, int, int)>();
        for (var k = 0; k < slices.Count; k++)
        {
            _starts[k + 1] = _starts[k] + slices[k].Length;
            for (var first = 0; first < slices[k].Length; first += ChunkSize)
            {
                chunks.Add((k, first, Math.Min(ChunkSize, slices[k].Length - first)));
            }
        }

        _m = new PinnedBuffer<float>(_starts[^1]);
        _v = new PinnedBuffer<float>(_m.Length);
        _chunks = [.. chunks];
        _chunkSums = new double[_chunks.Length];
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    public double WeightDecay { get; }

    /// <summary>Gets or sets the threads a step shares its chunks with (the trainer passes its model's); null: the calling thread alone.</summary>
    public Workers? Workers { get; set; }

    /// <summary>Gets the number of updates applied.</summary>
    public int StepCount { get; private set; }

    /// <summary>
    /// Returns the global L2 norm of the gradients (as the next step will see them) and, if above
    /// <paramref name="maxNorm"/> (&gt; 0), scales them down to it; the scale is applied inside the next <see cref="Step"/>.
    /// </summary>
    public double ClipGradients(double maxNorm)
    {
        // Per chunk on the threads, then the chunks' sums in order: the same norm for any thread count.
        var sums = _chunkSums;
        Workers.Run(Workers, _chunks.Length, (sums, _chunks, _slices), static (state, i) =>
        {
            var (sums, chunks, slices) = state;
            var (k, first, length) = chunks[i];
            var g = slices[k].Gradients.Span.Slice(first, length);
            sums[i] = typeof(T) == typeof(float)
                ? SumOfSquares(MemoryMarshal.Cast<T, float>(g))
                : double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(g));
        });
        var sum = 0.0;
        foreach (var chunk in sums)
        {
            sum += chunk;
        }

        var norm = Math.Sqrt(sum) * _pendingScale;
        if (maxNorm > 0 && norm > maxNorm && double.IsFinite(norm))
        {
            _pendingScale *= maxNorm / norm;
        }

        return norm;
    }

    /// <summary>Applies one update at learning rate <paramref name="learningRate"/> (and any pending clip scale).</summary>
    public void Step(double learningRate)
    {
        StepCount++;
        var c1 = 1 - Math.Pow(Beta1, StepCount);
        var c2 = 1 - Math.Pow(Beta2, StepCount);
        var update = new Update((float)Beta1, (float)Beta2, (float)learningRate, (float)Epsilon, (float)(1 / c1), (float)(1 / c2), (float)_pendingScale, (float)WeightDecay);
        _pendingScale = 1.0;
        Workers.Run(Workers, _chunks.Length, (this, update), static (state, i) =>
        {
            var (optimizer, update) = state;
            var (k, first, length) = optimizer._chunks[i];
            var s = optimizer._slices[k];
            var at = (int)optimizer._starts[k] + first;
            Apply(s.Values.Span.Slice(first, length), s.Gradients.Span.Slice(first, length), optimizer._m.Span.Slice(at, length), optimizer._v.Span.Slice(at, length), update, s.Decay);
        });
    }

    /// <summary>Adds the moments and step count to a safetensors writer.</summary>
    public void Save(SafeTensorsWriter writer)
    {
        writer.Metadata["optimizer"] = "adamw";
        writer.Metadata["step"] = StepCount.ToString(CultureInfo.InvariantCulture);
        for (var k = 0; k < _slices.Count; k++)
        {
            var length = _slices[k].Length;
            writer.Add("m." + _slices[k].Name, _m.Span.Slice((int)_starts[k], length), [length]);
            writer.Add("v." + _slices[k].Name, _v.Span.Slice((int)_starts[k], length), [length]);
        }
    }

    /// <summary>Restores the moments and step count; shapes are checked against the model.</summary>
    public void Load(SafeTensorsReader reader)
    {
        for (var k = 0; k < _slices.Count; k++)
        {
            var length = _slices[k].Length;
            reader.ReadSingle("m." + _slices[k].Name, [length]).CopyTo(_m.Span[(int)_starts[k]..]);
            reader.ReadSingle("v." + _slices[k].Name, [length]).CopyTo(_v.Span[(int)_starts[k]..]);
        }

        StepCount = reader.Metadata.TryGetValue("step", out var step) ? int.Parse(step, CultureInfo.InvariantCulture) : 0;
        _pendingScale = 1.0;
    }

    private static double SumOfSquares(ReadOnlySpan<float> g)
    {
        // In float64 blocks: a float sum over millions of values would lose the small ones.
        var sum = 0.0;
        for (var i = 0; i < g.Length; i += 4096)
        {
            sum += TensorPrimitives.SumOfSquares(g.Slice(i, Math.Min(4096, g.Length - i)));
        }

        return sum;
    }

    /// <summary>p −= lr · (m̂ / (√v̂ + ε) + decay · p) with m, v the moments of the scaled gradient; one pass.</summary>
    private static void Apply(Span<T> p, Span<T> g, Span<float> m, Span<float> v, Update u, bool decay)
    {
        var wd = decay ? u.Decay : 0f;
        var i = 0;
        if (typeof(T) == typeof(float) && Vector.IsHardwareAccelerated)
        {
            var pf = MemoryMarshal.Cast<T, float>(p);
            var gf = MemoryMarshal.Cast<T, float>(g);
            var w = Vector<float>.Count;
            Vector<float> b1 = new(u.Beta1), b2 = new(u.Beta2), nb1 = new(1 - u.Beta1), nb2 = new(1 - u.Beta2);
            Vector<float> ic1 = new(u.InvCorrection1), ic2 = new(u.InvCorrection2), eps = new(u.Epsilon), lr = new(u.LearningRate);
            Vector<float> scale = new(u.GradientScale), vwd = new(wd);
            for (; i <= p.Length - w; i += w)
            {
                var gi = new Vector<float>(gf[i..]) * scale;
                var mi = (b1 * new Vector<float>(m[i..])) + (nb1 * gi);
                var vi = (b2 * new Vector<float>(v[i..])) + (nb2 * gi * gi);
                mi.CopyTo(m[i..]);
                vi.CopyTo(v[i..]);
                var pi = new Vector<float>(pf[i..]);
                (pi - (lr * ((mi * ic1 / (Vector.SquareRoot(vi * ic2) + eps)) + (vwd * pi)))).CopyTo(pf[i..]);
            }
        }

        for (; i < p.Length; i++)
        {
            var gi = float.CreateTruncating(g[i]) * u.GradientScale;
            m[i] = (u.Beta1 * m[i]) + ((1 - u.Beta1) * gi);
            v[i] = (u.Beta2 * v[i]) + ((1 - u.Beta2) * gi * gi);
            var step = (m[i] * u.InvCorrection1 / (MathF.Sqrt(v[i] * u.InvCorrection2) + u.Epsilon)) + (wd * float.CreateTruncating(p[i]));
            p[i] -= T.CreateTruncating(u.LearningRate * step);
        }
    }

    private readonly record struct Update(float Beta1, float Beta2, float LearningRate, float Epsilon, float InvCorrection1, float InvCorrection2, float GradientScale, float Decay);
}
