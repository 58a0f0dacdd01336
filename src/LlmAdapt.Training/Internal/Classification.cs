using System.Numerics.Tensors;

namespace LlmAdapt.Training.Internal;

/// <summary>Softmax cross-entropy and batched prediction for classification heads.</summary>
internal static class Classification
{
    /// <summary>Probabilities (N, C) for feature rows, in batches, without dropout.</summary>
    public static double[][] Predict(HeadNetwork network, IReadOnlyList<float[]> rows)
    {
        const int Chunk = 512;
        var c = network.Outputs;
        var d = network.Inputs;
        var result = new double[rows.Count][];
        var x = new float[Math.Min(Chunk, Math.Max(rows.Count, 1)) * d];
        var logits = new float[Math.Min(Chunk, Math.Max(rows.Count, 1)) * c];
        for (var start = 0; start < rows.Count; start += Chunk)
        {
            var count = Math.Min(Chunk, rows.Count - start);
            for (var j = 0; j < count; j++)
            {
                rows[start + j].CopyTo(x, j * d);
            }

            network.Forward(x, count, logits, null);
            for (var j = 0; j < count; j++)
            {
                result[start + j] = Softmax(logits.AsSpan(j * c, c));
            }
        }

        return result;
    }

    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var p = new double[logits.Length];
        Softmax(logits, p);
        return p;
    }

    /// <summary>Writes softmax(<paramref name="logits"/>) into <paramref name="p"/> without allocating.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<double> p)
    {
        var max = double.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }

        double sum = 0;
        for (var k = 0; k < logits.Length; k++)
        {
            p[k] = Math.Exp(logits[k] - max);
            sum += p[k];
        }

        for (var k = 0; k < logits.Length; k++)
        {
            p[k] /= sum;
        }
    }

    /// <summary>Share of <paramref name="rows"/> whose highest-scoring class is <paramref name="truth"/>, without per-row allocation.</summary>
    public static double Accuracy(HeadNetwork network, IReadOnlyList<float[]> rows, int[] truth)
    {
        if (rows.Count == 0)
        {
            return double.NaN;
        }

        const int Chunk = 512;
        var c = network.Outputs;
        var d = network.Inputs;
        var x = new float[Math.Min(Chunk, rows.Count) * d];
        var logits = new float[Math.Min(Chunk, rows.Count) * c];
        var correct = 0;
        for (var start = 0; start < rows.Count; start += Chunk)
        {
            var count = Math.Min(Chunk, rows.Count - start);
            for (var j = 0; j < count; j++)
            {
                rows[start + j].CopyTo(x, j * d);
            }

            network.Forward(x, count, logits, null);
            for (var j = 0; j < count; j++)
            {
                if (TensorPrimitives.IndexOfMax(logits.AsSpan(j * c, c)) == truth[start + j])
                {
                    correct++;
                }
            }
        }

        return (double)correct / rows.Count;
    }

    /// <summary>Mean cross-entropy of the network's predictions on <paramref name="rows"/>, in batches, allocating only two buffers.</summary>
    public static double CrossEntropy(HeadNetwork network, IReadOnlyList<float[]> rows, int[] truth)
    {
        const int Chunk = 512;
        var c = network.Outputs;
        var d = network.Inputs;
        var x = new float[Math.Min(Chunk, Math.Max(rows.Count, 1)) * d];
        var logits = new float[Math.Min(Chunk, Math.Max(rows.Count, 1)) * c];
        Span<double> p = c <= 64 ? stackalloc double[c] : new double[c];
        double sum = 0;
        for (var start = 0; start < rows.Count; start += Chunk)
        {
            var count = Math.Min(Chunk, rows.Count - start);
            for (var j = 0; j < count; j++)
            {
                rows[start + j].CopyTo(x, j * d);
            }

            network.Forward(x, count, logits, null);
            for (var j = 0; j < count; j++)
            {
                Softmax(logits.AsSpan(j * c, c), p);
                sum -= Math.Log(Math.Max(p[truth[start + j]], 1e-12));
            }
        }

        return sum / truth.Length;
    }

    /// <summary>Mean cross-entropy of <paramref name="probabilities"/> against <paramref name="truth"/>.</summary>
    public static double CrossEntropy(double[][] probabilities, int[] truth)
    {
        double sum = 0;
        for (var n = 0; n < truth.Length; n++)
        {
            sum -= Math.Log(Math.Max(probabilities[n][truth[n]], 1e-12));
        }

        return sum / truth.Length;
    }
}
