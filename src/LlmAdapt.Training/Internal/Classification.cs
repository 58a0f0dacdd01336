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
        var max = double.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }

        var p = new double[logits.Length];
        double sum = 0;
        for (var k = 0; k < logits.Length; k++)
        {
            p[k] = Math.Exp(logits[k] - max);
            sum += p[k];
        }

        for (var k = 0; k < p.Length; k++)
        {
            p[k] /= sum;
        }

        return p;
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
