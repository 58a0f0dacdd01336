using System.Diagnostics;
using LlmAdapt.Benchmarks.Training;

namespace LlmAdapt.Benchmarks;

/// <summary>What the compare verbs share: the machine's MatMul peak and load printed beside their ratios, and the median.</summary>
internal static class Measurements
{
    /// <summary>ONNX Runtime's best fp32 GFLOP/s over the transformer MatMul shapes of the training comparison, with these threads.</summary>
    public static double MatMulPeak(int threads)
    {
        var best = 0.0;
        foreach (var shape in MatMulShape.Transformer.Where(s => s.ConstantB && s.Name is "mlp_up" or "head" or "qkv"))
        {
            using var pair = new MatMulBenchmarks.Pair(shape, threads);
            pair.RunOnnxRuntime();
            var reps = Math.Max(1, (int)(3e8 / shape.Flops));
            for (var r = 0; r < 3; r++)
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < reps; i++)
                {
                    pair.RunOnnxRuntime();
                }

                best = Math.Max(best, shape.Flops * reps / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
            }
        }

        return best;
    }

    /// <summary>The 1, 5 and 15 minute load averages from <c>/proc/loadavg</c>, or <c>n/a</c>.</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>
    /// Times <paramref name="subject"/> against <paramref name="baseline"/> side by side in this process: one warm-up call
    /// each, then <paramref name="rounds"/> rounds alternating which goes first; returns the median over the rounds of
    /// subject time ÷ baseline time. Load that comes and goes then weighs on both sides of each ratio alike, where
    /// BenchmarkDotNet runs each side in a process of its own, minutes apart (on a shared VM a whole process can run
    /// 1.5× slower than the next).
    /// </summary>
    public static double AlternatingRatio(Action subject, Action baseline, int rounds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds);
        subject();
        baseline();
        var ratios = new List<double>(rounds);
        for (var round = 0; round < rounds; round++)
        {
            double s, b;
            if (round % 2 == 0)
            {
                s = Time(subject);
                b = Time(baseline);
            }
            else
            {
                b = Time(baseline);
                s = Time(subject);
            }

            ratios.Add(s / b);
        }

        return Median(ratios);

        static double Time(Action action)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
