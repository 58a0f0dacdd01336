namespace LlmAdapt.Training.Tests;

/// <summary>Central finite differences against analytic gradients, in double precision.</summary>
internal static class GradientCheck
{
    /// <summary>
    /// Perturbs up to <paramref name="samples"/> elements of <paramref name="memory"/> (all when fewer) and returns the
    /// worst relative error |analytic − numeric| / max(|analytic|, |numeric|) over elements whose gradient is not tiny.
    /// </summary>
    public static double MaxRelativeError(Memory<double> memory, int offset, int length, Func<double> loss, Func<int, double> analytic, int samples = 64, double eps = 1e-5)
    {
        var random = new Random(7);
        var indices = length <= samples ? Enumerable.Range(0, length) : Enumerable.Range(0, samples).Select(_ => random.Next(length)).Distinct();
        var worst = 0.0;
        var values = memory.Span;
        foreach (var i in indices)
        {
            var saved = values[offset + i];
            values[offset + i] = saved + eps;
            var plus = loss();
            values[offset + i] = saved - eps;
            var minus = loss();
            values[offset + i] = saved;
            var numeric = (plus - minus) / (2 * eps);
            var a = analytic(i);
            var scale = Math.Max(Math.Abs(a), Math.Abs(numeric));
            var error = scale < 1e-7 ? Math.Abs(a - numeric) : Math.Abs(a - numeric) / scale;
            worst = Math.Max(worst, error);
        }

        return worst;
    }

    public static double[] Random(int n, int seed, double scale = 1.0)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => ((random.NextDouble() * 2) - 1) * scale).ToArray();
    }
}
