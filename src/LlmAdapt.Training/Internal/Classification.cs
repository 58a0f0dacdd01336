using System.Numerics.Tensors;

namespace LlmAdapt.Training.Internal;

/// <summary>Softmax cross-entropy and batched prediction for classification heads.</summary>
internal static class Classification
{
    /// <summary>Probabilities (N, C) for feature rows, in batches, without dropout.</summary>
    public static double[][] Predict(HeadNetwork network, IReadOnlyList<float[]> rows)
    {
        var c = network.Outputs;
        var result = new double[rows.Count][];
        ForEachBatch(network, rows, (start, count, logits) =>
        {
            for (var j = 0; j < count; j++)
            {
                result[start + j] = Softmax(logits.AsSpan(j * c, c));
            }
        });
        return result;
    }

    /// <summary>Runs the network (no dropout) over <paramref name="rows"/> in chunks of 512, handing each chunk's logits to <paramref name="onBatch"/>.</summary>
    public static void ForEachBatch(HeadNetwork network, IReadOnlyList<float[]> rows, Action<int, int, float[]> onBatch)
    {
        const int Chunk = 512;
        var d = network.Inputs;
        var size = Math.Min(Chunk, Math.Max(rows.Count, 1));
        var x = new float[size * d];
        var logits = new float[size * network.Outputs];
        for (var start = 0; start < rows.Count; start += Chunk)
        {
            var count = Math.Min(Chunk, rows.Count - start);
            for (var j = 0; j < count; j++)
            {
                rows[start + j].CopyTo(x, j * d);
            }

            network.Forward(x, count, logits, null);
            onBatch(start, count, logits);
        }
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
        var c = network.Outputs;
        var correct = 0;
        ForEachBatch(network, rows, (start, count, logits) =>
        {
            for (var j = 0; j < count; j++)
            {
                correct += TensorPrimitives.IndexOfMax(logits.AsSpan(j * c, c)) == truth[start + j] ? 1 : 0;
            }
        });
        return rows.Count == 0 ? double.NaN : (double)correct / rows.Count;
    }

    /// <summary>Mean cross-entropy of the network's predictions on <paramref name="rows"/>, allocating only the batch buffers.</summary>
    public static double CrossEntropy(HeadNetwork network, IReadOnlyList<float[]> rows, int[] truth)
    {
        var c = network.Outputs;
        var p = new double[c];
        double sum = 0;
        ForEachBatch(network, rows, (start, count, logits) =>
        {
            for (var j = 0; j < count; j++)
            {
                Softmax(logits.AsSpan(j * c, c), p);
                sum -= Math.Log(Math.Max(p[truth[start + j]], 1e-12));
            }
        });
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
