using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlmAdapt.Onnx.Embeddings;

namespace LlmAdapt.Benchmarks.Embeddings;

/// <summary>
/// `compare embeddings [--int8]`: texts per second of <see cref="OnnxEmbeddingGenerator"/> against the peer encoder and
/// a plain ONNX Runtime loop, the int8 speed-up on the abstracts, and the lowest cosine between int8 and fp32
/// embeddings. With <c>--int8</c> only the side-by-side int8 measurement runs (minutes instead of the BenchmarkDotNet
/// part's 25), still on the full abstracts and with the machine's MatMul peak beside the ratios.
/// </summary>
internal static class EmbeddingComparison
{
    /// <summary>The option that skips BenchmarkDotNet and runs only the side-by-side int8 measurement.</summary>
    public const string Int8Only = "--int8";

    public static async Task<int> RunAsync(string[] args)
    {
        // Each operation embeds a whole corpus (up to a minute for the peer on the abstracts), so one warm-up and three
        // measured operations per method are enough and keep the run to minutes. In process: all sides share it anyway.
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("LLMADAPT_BENCH_ITERATIONS"), out var n) && n > 0 ? n : 3;
        if (args.Contains(Int8Only, StringComparer.Ordinal))
        {
            return await RunInt8OnlyAsync(iterations).ConfigureAwait(false);
        }

        var job = Job.Default.WithId("embeddings").WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(iterations)
            .WithInvocationCount(1).WithUnrollFactor(1).WithToolchain(new InProcessEmitToolchain(TimeSpan.FromHours(2), logOutput: true));
        var config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summary = BenchmarkRunner.Run<EmbeddingBenchmarks>(config, args);

        double Mean(string method, string corpus) => summary.Reports
            .Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method && r.BenchmarkCase.Parameters["Corpus"] as string == corpus)
            .Select(r => r.ResultStatistics?.Mean ?? double.NaN).FirstOrDefault(double.NaN);

        var peer = nameof(EmbeddingBenchmarks.Peer_SentenceEncoder);
        var plain = nameof(EmbeddingBenchmarks.PlainOrt_Batched);
        var fp32 = nameof(EmbeddingBenchmarks.LlmAdapt_Fp32);
        var int8 = nameof(EmbeddingBenchmarks.LlmAdapt_Int8);
        var ratioShort = Mean(peer, "short") / Mean(fp32, "short");
        var ratioAbstracts = Mean(peer, "abstracts") / Mean(fp32, "abstracts");
        var ratioPlain = Math.Min(Mean(plain, "short") / Mean(fp32, "short"), Mean(plain, "abstracts") / Mean(fp32, "abstracts"));
        var int8SpeedupPhases = Mean(fp32, "abstracts") / Mean(int8, "abstracts");
        var sideBySide = await Int8SpeedupSideBySideAsync(iterations).ConfigureAwait(false);
        var minCosine = await Int8MinCosineAsync().ConfigureAwait(false);
        var peak = PrintMachine();
        if (EmbeddingCorpora.AbstractsLimit is int limit)
        {
            Console.WriteLine($"note: abstracts limited to the first {limit} by LLMADAPT_BENCH_ABSTRACTS; {iterations} measured operations a method");
        }

        Console.WriteLine(FormattableString.Invariant(
            $"ratio_vs_peer_short={ratioShort:F2} ratio_vs_peer_abstracts={ratioAbstracts:F2} ratio_vs_plain_ort={ratioPlain:F2} int8_speedup={sideBySide.Wall:F2} int8_speedup_cpu={sideBySide.Cpu:F2} int8_speedup_phases={int8SpeedupPhases:F2} int8_min_cosine={minCosine:F4} peak_gflops={peak:F1}"));
        return 0;
    }

    /// <summary>`compare embeddings --int8`: the side-by-side int8 measurement and the cosine check, without BenchmarkDotNet.</summary>
    private static async Task<int> RunInt8OnlyAsync(int pairs)
    {
        var sideBySide = await Int8SpeedupSideBySideAsync(pairs).ConfigureAwait(false);
        var minCosine = await Int8MinCosineAsync().ConfigureAwait(false);
        var peak = PrintMachine();
        var abstracts = EmbeddingCorpora.AbstractsLimit is int limit ? $"the first {limit} abstracts (LLMADAPT_BENCH_ABSTRACTS)" : "all abstracts";
        Console.WriteLine(FormattableString.Invariant($"note: side by side only ({Int8Only}), {abstracts}, {pairs} pairs"));
        Console.WriteLine(FormattableString.Invariant(
            $"int8_speedup={sideBySide.Wall:F2} int8_speedup_cpu={sideBySide.Cpu:F2} int8_min_cosine={minCosine:F4} fp32_s={sideBySide.Fp32Seconds:F2} int8_s={sideBySide.Int8Seconds:F2} peak_gflops={peak:F1}"));
        return 0;
    }

    /// <summary>Prints the machine's fp32 MatMul peak at one thread (what each lane of the default layout has) and the load; returns the peak.</summary>
    private static double PrintMachine()
    {
        var peak = Measurements.MatMulPeak(threads: 1);
        Console.WriteLine(FormattableString.Invariant(
            $"peak MatMul {peak:F1} GFLOP/s (ONNX Runtime fp32, 1 thread: one lane of the default {Environment.ProcessorCount} lanes × 1 thread); load average {Measurements.LoadAverage()}"));
        return peak;
    }

    /// <summary>
    /// The int8 speed-up on the abstracts measured side by side: after one warm-up each, fp32 and int8 embed the corpus
    /// in alternating order (fp32 then int8, int8 then fp32, …: <see cref="Measurements.AlternateAsync{T}"/>), so load
    /// that comes and goes and whichever side runs first weigh on both alike.
    /// Prints each pair; returns the median of the per-pair wall-time ratios, the ratio of the process CPU time each side
    /// used, and each side's median wall time.
    /// </summary>
    private static async Task<SideBySide> Int8SpeedupSideBySideAsync(int pairs)
    {
        using var fp32 = OnnxEmbeddingGenerator.CreateDefault();
        using var int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8 });
        var texts = EmbeddingCorpora.Get("abstracts");
        _ = await TimeAsync(fp32, texts).ConfigureAwait(false);
        _ = await TimeAsync(int8, texts).ConfigureAwait(false);
        var (fp32Runs, int8Runs) = await Measurements.AlternateAsync(
            pairs,
            () => TimeAsync(fp32, texts),
            () => TimeAsync(int8, texts),
            (pair, a, b) => Console.WriteLine(FormattableString.Invariant(
                $"pair {pair + 1} ({(pair % 2 == 0 ? "fp32 first" : "int8 first")}): fp32 {a.Wall:F2} s wall / {a.Cpu:F2} s CPU, int8 {b.Wall:F2} s / {b.Cpu:F2} s, ratio {a.Wall / b.Wall:F3}; load average {Measurements.LoadAverage()}"))).ConfigureAwait(false);
        var ratios = fp32Runs.Zip(int8Runs, (a, b) => a.Wall / b.Wall);
        var (fp32Cpu, int8Cpu) = (fp32Runs.Sum(r => r.Cpu), int8Runs.Sum(r => r.Cpu));
        var (fp32Walls, int8Walls) = (fp32Runs.Select(r => r.Wall), int8Runs.Select(r => r.Wall));
        return new SideBySide(Measurements.Median(ratios), fp32Cpu / int8Cpu, Measurements.Median(fp32Walls), Measurements.Median(int8Walls));
    }

    private static async Task<(double Wall, double Cpu)> TimeAsync(OnnxEmbeddingGenerator generator, string[] texts)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        _ = await generator.GenerateAsync(texts).ConfigureAwait(false);
        var wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    /// <summary>The lowest cosine between the int8 and fp32 embedding of the same text, over both corpora.</summary>
    private static async Task<double> Int8MinCosineAsync()
    {
        using var fp32 = OnnxEmbeddingGenerator.CreateDefault();
        using var int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8 });
        var min = 1.0;
        foreach (var corpus in new[] { "short", "abstracts" })
        {
            var texts = EmbeddingCorpora.Get(corpus);
            var a = await fp32.GenerateAsync(texts).ConfigureAwait(false);
            var b = await int8.GenerateAsync(texts).ConfigureAwait(false);
            for (var i = 0; i < texts.Length; i++)
            {
                min = Math.Min(min, System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a[i].Vector.Span, b[i].Vector.Span));
            }
        }

        return min;
    }

    /// <summary>The side-by-side result: median wall ratio, CPU-time ratio, and each side's median seconds per corpus.</summary>
    private sealed record SideBySide(double Wall, double Cpu, double Fp32Seconds, double Int8Seconds);
}
