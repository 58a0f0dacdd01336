namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>Comparisons of exported logits with a float64 reference, shared by the GPT-2 and Llama round trips.</summary>
internal static class LogitChecks
{
    public static double MaxAbsDiff(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        }

        return max;
    }

    public static int[] RandomTokens(Random random, int count, int vocab) => [.. Enumerable.Range(0, count).Select(_ => random.Next(vocab))];

    public static long[] Positions(int count) => [.. Enumerable.Range(0, count).Select(i => (long)i)];

    public static long[] Ones(int count) => [.. Enumerable.Repeat(1L, count)];

    public static long[] Longs(IEnumerable<int> ids) => [.. ids.Select(x => (long)x)];

    /// <summary>−log softmax(<paramref name="row"/>)[<paramref name="target"/>], computed in float64.</summary>
    public static double NegativeLogLikelihood(ReadOnlySpan<float> row, int target)
    {
        var max = double.NegativeInfinity;
        foreach (var x in row)
        {
            max = Math.Max(max, x);
        }

        double z = 0;
        foreach (var x in row)
        {
            z += Math.Exp(x - max);
        }

        return max + Math.Log(z) - row[target];
    }
}
