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

    /// <summary>The median of <paramref name="values"/> (the mean of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
