using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlmAdapt.Onnx.Embeddings;

namespace LlmAdapt.Benchmarks.Embeddings;

/// <summary>
/// `compare embeddings`: texts per second of <see cref="OnnxEmbeddingGenerator"/> against the peer encoder and a plain
/// ONNX Runtime loop, the int8 speed-up on the abstracts, and the lowest cosine between int8 and fp32 embeddings.
/// </summary>
internal static class EmbeddingComparison
{
    public static async Task<int> RunAsync(string[] args)
    {
        // Each operation embeds a whole corpus (up to a minute for the peer on the abstracts), so one warm-up and three
        // measured operations per method are enough and keep the run to minutes. In process: all sides share it anyway.
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("LLMADAPT_BENCH_ITERATIONS"), out var n) && n > 0 ? n : 3;
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
        var (int8Speedup, int8SpeedupCpu) = await Int8SpeedupSideBySideAsync(iterations).ConfigureAwait(false);

        var minCosine = await Int8MinCosineAsync().ConfigureAwait(false);
        if (EmbeddingCorpora.AbstractsLimit is int limit)
        {
            Console.WriteLine($"note: abstracts limited to the first {limit} by LLMADAPT_BENCH_ABSTRACTS; {iterations} measured operations a method");
        }

        Console.WriteLine(FormattableString.Invariant(
            $"ratio_vs_peer_short={ratioShort:F2} ratio_vs_peer_abstracts={ratioAbstracts:F2} ratio_vs_plain_ort={ratioPlain:F2} int8_speedup={int8Speedup:F2} int8_speedup_cpu={int8SpeedupCpu:F2} int8_speedup_phases={int8SpeedupPhases:F2} int8_min_cosine={minCosine:F4}"));
        return 0;
    }

    /// <summary>
    /// The int8 speed-up on the abstracts measured side by side: after one warm-up each, fp32 and int8 embed the corpus
    /// in alternating order (fp32 then int8, int8 then fp32, …), so load that comes and goes and whichever side runs
    /// first weigh on both alike (BenchmarkDotNet runs all of one side's operations, then the other's, minutes apart).
    /// Returns the median of the per-pair wall-time ratios and the ratio of the process CPU time each side used.
    /// </summary>
    private static async Task<(double Wall, double Cpu)> Int8SpeedupSideBySideAsync(int pairs)
    {
        using var fp32 = OnnxEmbeddingGenerator.CreateDefault();
        using var int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8 });
        var texts = EmbeddingCorpora.Get("abstracts");
        _ = await TimeAsync(fp32, texts).ConfigureAwait(false);
        _ = await TimeAsync(int8, texts).ConfigureAwait(false);
        var ratios = new List<double>(pairs);
        var (fp32Cpu, int8Cpu) = (0.0, 0.0);
        for (var pair = 0; pair < pairs; pair++)
        {
            (double Wall, double Cpu) a, b;
            if (pair % 2 == 0)
            {
                a = await TimeAsync(fp32, texts).ConfigureAwait(false);
                b = await TimeAsync(int8, texts).ConfigureAwait(false);
            }
            else
            {
                b = await TimeAsync(int8, texts).ConfigureAwait(false);
                a = await TimeAsync(fp32, texts).ConfigureAwait(false);
            }

            ratios.Add(a.Wall / b.Wall);
            fp32Cpu += a.Cpu;
            int8Cpu += b.Cpu;
        }

        ratios.Sort();
        var median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[(ratios.Count / 2) - 1] + ratios[ratios.Count / 2]) / 2;
        return (median, fp32Cpu / int8Cpu);
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
}
