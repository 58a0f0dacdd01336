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
    /// each, then <paramref name="rounds"/> rounds of <see cref="Alternate{T}"/>; returns the median over the rounds of
    /// subject time ÷ baseline time.
    /// </summary>
    public static double AlternatingRatio(Action subject, Action baseline, int rounds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds);
        subject();
        baseline();
        var (s, b) = Alternate(rounds, () => Seconds(subject), () => Seconds(baseline));
        return Median(s.Zip(b, (x, y) => x / y));

        static double Seconds(Action action)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
    }

    /// <summary>
    /// The one alternation every side-by-side figure of the compare verbs comes from: runs <paramref name="first"/> and
    /// <paramref name="second"/> once each per round, for <paramref name="rounds"/> rounds, swapping which goes first
    /// every round (round 0: <paramref name="first"/> first), and returns what each measured, in round order;
    /// <paramref name="afterRound"/>, when given, sees each round's pair as it ends. Load that comes and goes then weighs
    /// on both sides of a round alike, where BenchmarkDotNet runs each side in a process of its own, minutes apart (on a
    /// shared VM a whole process can run 1.5× slower than the next), and neither side always runs first.
    /// </summary>
    public static async Task<(List<T> First, List<T> Second)> AlternateAsync<T>(int rounds, Func<Task<T>> first, Func<Task<T>> second, Action<int, T, T>? afterRound = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds);
        var (a, b) = (new List<T>(rounds), new List<T>(rounds));
        for (var round = 0; round < rounds; round++)
        {
            T x, y;
            if (round % 2 == 0)
            {
                x = await first().ConfigureAwait(false);
                y = await second().ConfigureAwait(false);
            }
            else
            {
                y = await second().ConfigureAwait(false);
                x = await first().ConfigureAwait(false);
            }

            a.Add(x);
            b.Add(y);
            afterRound?.Invoke(round, x, y);
        }

        return (a, b);
    }

    /// <summary><see cref="AlternateAsync{T}"/> for measurements taken synchronously (it completes on the calling thread).</summary>
    public static (List<T> First, List<T> Second) Alternate<T>(int rounds, Func<T> first, Func<T> second)
        => AlternateAsync(rounds, () => Task.FromResult(first()), () => Task.FromResult(second())).GetAwaiter().GetResult();

    /// <summary>The median of <paramref name="values"/> (the mean of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
