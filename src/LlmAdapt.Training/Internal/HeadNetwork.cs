using LlmAdapt.Training.Models;
using System.Numerics.Tensors;

namespace LlmAdapt.Training.Internal;

/// <summary>
/// The head on frozen features: standardise → (Linear) or (Linear → ReLU → Dropout → Linear). Inputs are standardised
/// with the training set's mean and standard deviation (floored at the median deviation), kept with the weights, so the optimiser sees features of
/// unit scale whatever the encoder's norm.
/// </summary>
internal sealed class HeadNetwork
{
    private float[] _standardized = [];
    private float[] _hiddenPre = [];
    private float[] _hiddenPost = [];
    private float[] _mask = [];
    private float[] _dHidden = [];
    private int _capacity;

    public HeadNetwork(int inputs, int hidden, int outputs, float dropout, Random random)
    {
        Inputs = inputs;
        Hidden = hidden;
        Outputs = outputs;
        Dropout = dropout;
        Mean = new float[inputs];
        Scale = Enumerable.Repeat(1f, inputs).ToArray();
        if (hidden > 0)
        {
            HiddenLayer = new Dense(inputs, hidden, random);
            OutputLayer = new Dense(hidden, outputs, random);
        }
        else
        {
            OutputLayer = new Dense(inputs, outputs, random);
        }
    }

    public int Inputs { get; }

    public int Hidden { get; }

    public int Outputs { get; }

    public float Dropout { get; }

    /// <summary>Dropout on the standardised input features during training (0 = none).</summary>
    public float InputDropout { get; init; }

    /// <summary>Per-feature mean subtracted before the first layer (Inputs).</summary>
    public float[] Mean { get; }

    /// <summary>Per-feature 1/max(std, median std) multiplied after centring (Inputs).</summary>
    public float[] Scale { get; }

    public Dense? HiddenLayer { get; }

    public Dense OutputLayer { get; }

    public long ParameterCount => OutputLayer.Weight.Length + OutputLayer.Bias.Length + (HiddenLayer is null ? 0 : HiddenLayer.Weight.Length + HiddenLayer.Bias.Length);

    public IEnumerable<Dense> Layers => HiddenLayer is null ? [OutputLayer] : [HiddenLayer, OutputLayer];

    /// <summary>Gets the weights and biases as the optimiser sees them (weights decay, biases do not).</summary>
    public IReadOnlyList<TrainableSlice<float>> Trainable => Layers.SelectMany((l, i) => new[]
    {
        new TrainableSlice<float>($"{i}.weight", l.Weight, l.WeightGrad, true),
        new TrainableSlice<float>($"{i}.bias", l.Bias, l.BiasGrad, false),
    }).ToList();

    /// <summary>
    /// One network whose outputs are the mean of the members' outputs: linear members average their weights; MLP
    /// members stack their hidden units side by side and share an output layer scaled by 1/k. The members must share
    /// their standardisation and shape.
    /// </summary>
    public static HeadNetwork Merge(IReadOnlyList<HeadNetwork> members)
    {
        ArgumentOutOfRangeException.ThrowIfZero(members.Count);
        var first = members[0];
        if (members.Count == 1)
        {
            return first;
        }

        var k = members.Count;
        var merged = new HeadNetwork(first.Inputs, first.Hidden * k, first.Outputs, first.Dropout, new Random(0)) { InputDropout = first.InputDropout };
        first.Mean.CopyTo(merged.Mean, 0);
        first.Scale.CopyTo(merged.Scale, 0);
        var inv = 1f / k;
        for (var m = 0; m < k; m++)
        {
            var member = members[m];
            if (member.Hidden != first.Hidden || member.Inputs != first.Inputs || member.Outputs != first.Outputs || !member.Mean.AsSpan().SequenceEqual(first.Mean) || !member.Scale.AsSpan().SequenceEqual(first.Scale))
            {
                throw new ArgumentException("Ensemble members differ in shape or standardisation.", nameof(members));
            }

            if (merged.HiddenLayer is { } hidden)
            {
                member.HiddenLayer!.Weight.CopyTo(hidden.Weight, m * first.Hidden * first.Inputs);
                member.HiddenLayer.Bias.CopyTo(hidden.Bias, m * first.Hidden);
                for (var o = 0; o < first.Outputs; o++)
                {
                    var source = member.OutputLayer.Weight.AsSpan(o * first.Hidden, first.Hidden);
                    TensorPrimitives.Multiply(source, inv, merged.OutputLayer.Weight.AsSpan((o * first.Hidden * k) + (m * first.Hidden), first.Hidden));
                }
            }
            else
            {
                var w = merged.OutputLayer.Weight;
                if (m == 0)
                {
                    Array.Clear(w);
                }

                TensorPrimitives.MultiplyAdd(member.OutputLayer.Weight, inv, w, w);
            }

            if (m == 0)
            {
                Array.Clear(merged.OutputLayer.Bias);
            }

            TensorPrimitives.MultiplyAdd(member.OutputLayer.Bias, inv, merged.OutputLayer.Bias, merged.OutputLayer.Bias);
        }

        return merged;
    }

    /// <summary>Sets <see cref="Mean"/> and <see cref="Scale"/> from rows of features.</summary>
    public void FitStandardization(IReadOnlyList<float[]> rows)
    {
        var (mean, scale) = ComputeStandardization(rows, Inputs);
        mean.CopyTo(Mean, 0);
        scale.CopyTo(Scale, 0);
    }

    /// <summary>Copies the given standardisation into <see cref="Mean"/> and <see cref="Scale"/>.</summary>
    public void SetStandardization(float[] mean, float[] scale)
    {
        mean.CopyTo(Mean, 0);
        scale.CopyTo(Scale, 0);
    }

    /// <summary>
    /// (x − mean) · scale for each row, row after row in one array (N · Inputs): done once before training instead of in
    /// every batch, in one allocation rather than one per row.
    /// </summary>
    public static float[] Standardize(IReadOnlyList<float[]> rows, float[] mean, float[] scale)
    {
        var d = mean.Length;
        var result = GC.AllocateUninitializedArray<float>(rows.Count * d);
        for (var r = 0; r < rows.Count; r++)
        {
            var row = result.AsSpan(r * d, d);
            TensorPrimitives.Subtract(rows[r].AsSpan(0, d), mean, row);
            TensorPrimitives.Multiply(row, scale, row);
        }

        return result;
    }

    /// <summary>The per-feature mean and 1/max(std, median std) of <paramref name="rows"/>.</summary>
    public static (float[] Mean, float[] Scale) ComputeStandardization(IReadOnlyList<float[]> rows, int inputs)
    {
        var Inputs = inputs;
        var Mean = new float[inputs];
        var Scale = new float[inputs];
        // Vectorised float sums over blocks of rows, added into double totals: fast, and without float drift on large sets.
        const int Block = 256;
        var sum = new double[Inputs];
        var sumSq = new double[Inputs];
        var blockSum = new float[Inputs];
        var blockSq = new float[Inputs];
        for (var start = 0; start < rows.Count; start += Block)
        {
            Array.Clear(blockSum);
            Array.Clear(blockSq);
            var end = Math.Min(rows.Count, start + Block);
            for (var r = start; r < end; r++)
            {
                var row = rows[r].AsSpan(0, Inputs);
                TensorPrimitives.Add(blockSum, row, blockSum);
                TensorPrimitives.MultiplyAdd(row, row, blockSq, blockSq);
            }

            for (var j = 0; j < Inputs; j++)
            {
                sum[j] += blockSum[j];
                sumSq[j] += blockSq[j];
            }
        }

        var std = new double[Inputs];
        for (var j = 0; j < Inputs; j++)
        {
            var mean = sum[j] / rows.Count;
            Mean[j] = (float)mean;
            std[j] = Math.Sqrt(Math.Max(0, (sumSq[j] / rows.Count) - (mean * mean)));
        }

        // Floor each deviation at the median: a rarely active feature (a sparse bucket, a rare word) is not blown up to
        // unit variance, while dense embedding components and scalar features such as length are put on one scale.
        var sorted = (double[])std.Clone();
        Array.Sort(sorted);
        var floor = Math.Max(sorted[sorted.Length / 2], 1e-6);
        for (var j = 0; j < Inputs; j++)
        {
            Scale[j] = (float)(1 / Math.Max(std[j], floor));
        }

        return (Mean, Scale);
    }

    /// <summary>logits (B, Outputs) from raw features x (B, Inputs). With <paramref name="random"/>, applies dropout.</summary>
    public float[] Forward(float[] x, int batch, float[] logits, Random? random)
    {
        var input = InputBuffer(batch);
        for (var b = 0; b < batch; b++)
        {
            var target = input.Slice(b * Inputs, Inputs);
            TensorPrimitives.Subtract(x.AsSpan(b * Inputs, Inputs), Mean, target);
            TensorPrimitives.Multiply(target, Scale, target);
        }

        return ForwardInputBuffer(batch, logits, random);
    }

    /// <summary>The buffer of standardised inputs (B, Inputs) for <see cref="ForwardInputBuffer"/>: training fills it with rows standardised once, sparing a pass per batch.</summary>
    public Span<float> InputBuffer(int batch)
    {
        Ensure(batch);
        return _standardized.AsSpan(0, batch * Inputs);
    }

    /// <summary>logits (B, Outputs) from the standardised rows in <see cref="InputBuffer"/>. With <paramref name="random"/>, applies dropout.</summary>
    public float[] ForwardInputBuffer(int batch, float[] logits, Random? random)
    {
        if (random is not null && InputDropout > 0)
        {
            var keepInput = 1f - InputDropout;
            var scaleUp = 1f / keepInput;
            var input = _standardized.AsSpan(0, batch * Inputs);
            for (var j = 0; j < input.Length; j++)
            {
                input[j] = random.NextSingle() < keepInput ? input[j] * scaleUp : 0f;
            }
        }

        if (HiddenLayer is null)
        {
            OutputLayer.Forward(_standardized, batch, logits);
            return logits;
        }

        HiddenLayer.Forward(_standardized, batch, _hiddenPre);
        var count = batch * Hidden;
        var keep = 1f - Dropout;
        for (var i = 0; i < count; i++)
        {
            var v = _hiddenPre[i] > 0 ? _hiddenPre[i] : 0f;
            if (random is not null && Dropout > 0)
            {
                // Inverted dropout: scale survivors now so inference needs no change.
                _mask[i] = random.NextSingle() < keep ? 1f / keep : 0f;
                v *= _mask[i];
            }
            else
            {
                _mask[i] = 1f;
            }

            _hiddenPost[i] = v;
        }

        OutputLayer.Forward(_hiddenPost, batch, logits);
        return logits;
    }

    /// <summary>Accumulates gradients for the batch last passed to <see cref="Forward"/>.</summary>
    public void Backward(float[] dLogits, int batch)
    {
        if (HiddenLayer is null)
        {
            OutputLayer.Backward(_standardized, dLogits, batch, null);
            return;
        }

        OutputLayer.Backward(_hiddenPost, dLogits, batch, _dHidden);
        var count = batch * Hidden;
        for (var i = 0; i < count; i++)
        {
            _dHidden[i] = _hiddenPre[i] > 0 ? _dHidden[i] * _mask[i] : 0f;
        }

        HiddenLayer.Backward(_standardized, _dHidden, batch, null);
    }

    public void ZeroGrad()
    {
        foreach (var layer in Layers)
        {
            layer.ZeroGrad();
        }
    }

    /// <summary>Copies the weights, for keeping the best epoch.</summary>
    public float[][] Snapshot() => Layers.SelectMany(l => new[] { (float[])l.Weight.Clone(), (float[])l.Bias.Clone() }).ToArray();

    public void Restore(float[][] snapshot)
    {
        var i = 0;
        foreach (var layer in Layers)
        {
            snapshot[i++].CopyTo(layer.Weight, 0);
            snapshot[i++].CopyTo(layer.Bias, 0);
        }
    }

    private void Ensure(int batch)
    {
        if (batch <= _capacity)
        {
            return;
        }

        _capacity = batch;
        _standardized = new float[batch * Inputs];
        _hiddenPre = new float[batch * Math.Max(Hidden, 1)];
        _hiddenPost = new float[batch * Math.Max(Hidden, 1)];
        _mask = new float[batch * Math.Max(Hidden, 1)];
        _dHidden = new float[batch * Math.Max(Hidden, 1)];
    }
}
