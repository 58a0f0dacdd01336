using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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

    /// <summary>
    /// The machine's fp32 fused multiply-add ceiling, in GFLOP/s, on <paramref name="threads"/> threads at once: the best
    /// of three bursts of <see cref="FmaBurst"/> (about 30 ms each on one Zen 5 core), timed by <paramref name="now"/> (seconds; the wall
    /// clock, or the calling thread's CPU time where <paramref name="threads"/> is 1). Nothing is read from memory, so
    /// no multiply can run faster; a MatMul's GFLOP/s over this is the share of the arithmetic units it kept busy.
    /// </summary>
    public static double FmaPeak(int threads, Func<double> now)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        const long iterations = 9_000_000;
        FmaBurst(1_000);
        var best = 0.0;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var start = new Barrier(threads);
            var flops = new double[threads];
            var others = Enumerable.Range(1, threads - 1).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                flops[t] = FmaBurst(iterations);
            })).ToList();
            others.ForEach(t => t.Start());
            start.SignalAndWait();
            var begin = now();
            flops[0] = FmaBurst(iterations);
            others.ForEach(t => t.Join());
            best = Math.Max(best, flops.Sum() / (now() - begin) / 1e9);
        }

        return best;
    }

    /// <summary>
    /// Runs <paramref name="iterations"/> rounds of independent fused multiply-adds held in registers (24 accumulators of
    /// 16 floats where the machine has AVX-512, else 12 of 8: enough chains to cover the FMA latency on two pipes) and
    /// returns the floating-point operations done (2 per lane per multiply-add).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static double FmaBurst(long iterations)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var (m, a) = (Vector512.Create(0.999f), Vector512.Create(0.001f));
            Vector512<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
            Vector512<float> d0 = a, d1 = a, d2 = a, d3 = a, d4 = a, d5 = a, d6 = a, d7 = a, d8 = a, d9 = a, d10 = a, d11 = a;
            for (var i = 0L; i < iterations; i++)
            {
                (c0, c1, c2, c3) = (Vector512.FusedMultiplyAdd(c0, m, a), Vector512.FusedMultiplyAdd(c1, m, a), Vector512.FusedMultiplyAdd(c2, m, a), Vector512.FusedMultiplyAdd(c3, m, a));
                (c4, c5, c6, c7) = (Vector512.FusedMultiplyAdd(c4, m, a), Vector512.FusedMultiplyAdd(c5, m, a), Vector512.FusedMultiplyAdd(c6, m, a), Vector512.FusedMultiplyAdd(c7, m, a));
                (c8, c9, c10, c11) = (Vector512.FusedMultiplyAdd(c8, m, a), Vector512.FusedMultiplyAdd(c9, m, a), Vector512.FusedMultiplyAdd(c10, m, a), Vector512.FusedMultiplyAdd(c11, m, a));
                (d0, d1, d2, d3) = (Vector512.FusedMultiplyAdd(d0, m, a), Vector512.FusedMultiplyAdd(d1, m, a), Vector512.FusedMultiplyAdd(d2, m, a), Vector512.FusedMultiplyAdd(d3, m, a));
                (d4, d5, d6, d7) = (Vector512.FusedMultiplyAdd(d4, m, a), Vector512.FusedMultiplyAdd(d5, m, a), Vector512.FusedMultiplyAdd(d6, m, a), Vector512.FusedMultiplyAdd(d7, m, a));
                (d8, d9, d10, d11) = (Vector512.FusedMultiplyAdd(d8, m, a), Vector512.FusedMultiplyAdd(d9, m, a), Vector512.FusedMultiplyAdd(d10, m, a), Vector512.FusedMultiplyAdd(d11, m, a));
            }

            // The sum keeps every chain live; it is about 24 (each chain tends to 1).
            var sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + d8 + d9 + d10 + d11;
            return Vector512.Sum(sum) > 0 ? 2.0 * 24 * Vector512<float>.Count * iterations : 0;
        }

        var (n, b) = (Vector256.Create(0.999f), Vector256.Create(0.001f));
        Vector256<float> e0 = n, e1 = n, e2 = n, e3 = n, e4 = n, e5 = n, e6 = n, e7 = n, e8 = n, e9 = n, e10 = n, e11 = n;
        for (var i = 0L; i < iterations; i++)
        {
            (e0, e1, e2, e3) = (Vector256.FusedMultiplyAdd(e0, n, b), Vector256.FusedMultiplyAdd(e1, n, b), Vector256.FusedMultiplyAdd(e2, n, b), Vector256.FusedMultiplyAdd(e3, n, b));
            (e4, e5, e6, e7) = (Vector256.FusedMultiplyAdd(e4, n, b), Vector256.FusedMultiplyAdd(e5, n, b), Vector256.FusedMultiplyAdd(e6, n, b), Vector256.FusedMultiplyAdd(e7, n, b));
            (e8, e9, e10, e11) = (Vector256.FusedMultiplyAdd(e8, n, b), Vector256.FusedMultiplyAdd(e9, n, b), Vector256.FusedMultiplyAdd(e10, n, b), Vector256.FusedMultiplyAdd(e11, n, b));
        }

        var total = e0 + e1 + e2 + e3 + e4 + e5 + e6 + e7 + e8 + e9 + e10 + e11;
        return Vector256.Sum(total) > 0 ? 2.0 * 12 * Vector256<float>.Count * iterations : 0;
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
