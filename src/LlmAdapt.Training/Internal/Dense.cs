using System.Numerics.Tensors;

namespace LlmAdapt.Training.Internal;

/// <summary>A fully connected layer y = x Wᵀ + b, with W (Out, In) row-major as PyTorch's nn.Linear stores it.</summary>
internal sealed class Dense
{
    // Below this many multiply-adds (about a millisecond of work) a batch runs on one thread: forking costs more than it
    // saves, and on a shared machine extra threads mostly wait.
    private const long ParallelThreshold = 1 << 21;

    public Dense(int inputs, int outputs, Random random)
    {
        In = inputs;
        Out = outputs;
        Weight = new float[outputs * inputs];
        Bias = new float[outputs];
        WeightGrad = new float[Weight.Length];
        BiasGrad = new float[outputs];

        // PyTorch's default for nn.Linear: U(−1/√in, 1/√in) for weights and bias.
        var bound = 1.0 / Math.Sqrt(inputs);
        for (var i = 0; i < Weight.Length; i++)
        {
            Weight[i] = (float)(((random.NextDouble() * 2) - 1) * bound);
        }

        for (var i = 0; i < Bias.Length; i++)
        {
            Bias[i] = (float)(((random.NextDouble() * 2) - 1) * bound);
        }
    }

    public int In { get; }

    public int Out { get; }

    public float[] Weight { get; }

    public float[] Bias { get; }

    public float[] WeightGrad { get; }

    public float[] BiasGrad { get; }

    /// <summary>y (B, Out) = x (B, In) Wᵀ + b.</summary>
    public void Forward(float[] x, int batch, float[] y)
    {
        if ((long)batch * In * Out >= ParallelThreshold)
        {
            Parallel.For(0, batch, b => ForwardRow(x, y, b));
        }
        else
        {
            for (var b = 0; b < batch; b++)
            {
                ForwardRow(x, y, b);
            }
        }
    }

    /// <summary>Accumulates dW += dyᵀ x and db += Σ dy; writes dx (B, In) = dy W when <paramref name="dx"/> is given.</summary>
    public void Backward(float[] x, float[] dy, int batch, float[]? dx)
    {
        var parallel = (long)batch * In * Out >= ParallelThreshold;

        // One output row of dW per task: each sum runs in batch order, so the result does not depend on scheduling.
        if (parallel)
        {
            Parallel.For(0, Out, o => WeightGradRow(x, dy, batch, o));
        }
        else
        {
            for (var o = 0; o < Out; o++)
            {
                WeightGradRow(x, dy, batch, o);
            }
        }

        if (dx is null)
        {
            return;
        }

        if (parallel)
        {
            Parallel.For(0, batch, b => InputGradRow(dy, dx, b));
        }
        else
        {
            for (var b = 0; b < batch; b++)
            {
                InputGradRow(dy, dx, b);
            }
        }
    }

    public void ZeroGrad()
    {
        Array.Clear(WeightGrad);
        Array.Clear(BiasGrad);
    }

    private void ForwardRow(float[] x, float[] y, int b)
    {
        var row = x.AsSpan(b * In, In);
        var output = y.AsSpan(b * Out, Out);
        for (var o = 0; o < Out; o++)
        {
            output[o] = TensorPrimitives.Dot(row, Weight.AsSpan(o * In, In)) + Bias[o];
        }
    }

    private void WeightGradRow(float[] x, float[] dy, int batch, int o)
    {
        var gradRow = WeightGrad.AsSpan(o * In, In);
        var biasSum = 0f;
        for (var b = 0; b < batch; b++)
        {
            var g = dy[(b * Out) + o];
            if (g != 0f)
            {
                TensorPrimitives.MultiplyAdd(x.AsSpan(b * In, In), g, gradRow, gradRow);
                biasSum += g;
            }
        }

        BiasGrad[o] += biasSum;
    }

    private void InputGradRow(float[] dy, float[] dx, int b)
    {
        var dxRow = dx.AsSpan(b * In, In);
        dxRow.Clear();
        for (var o = 0; o < Out; o++)
        {
            var g = dy[(b * Out) + o];
            if (g != 0f)
            {
                TensorPrimitives.MultiplyAdd(Weight.AsSpan(o * In, In), g, dxRow, dxRow);
            }
        }
    }
}
