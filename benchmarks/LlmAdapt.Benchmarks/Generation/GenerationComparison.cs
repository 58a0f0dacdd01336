using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

namespace LlmAdapt.Benchmarks.Generation;

/// <summary>
/// `compare generation`: decode throughput of <see cref="LlmAdapt.Onnx.Generation.OnnxDecoderModel"/> against ONNX
/// Runtime GenAI's Generator on both fixtures, in one BenchmarkDotNet run. The closing line gives tokens per second
/// relative to the peer (above 1 is faster).
/// </summary>
internal static class GenerationComparison
{
    public static Task<int> RunAsync(string[] args)
    {
        var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithId("short")).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summary = BenchmarkRunner.Run<GenerationBenchmarks>(config, args);
        var ratios = new List<string>();
        foreach (var model in new[] { "gpt2", "llama" })
        {
            double Mean(string method) => summary.Reports
                .Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method && r.BenchmarkCase.Parameters["Model"] as string == model)
                .Select(r => r.ResultStatistics?.Mean ?? double.NaN).FirstOrDefault(double.NaN);

            // Same tokens per call on both sides, so the throughput ratio is the inverse ratio of the times.
            var ratio = Mean(nameof(GenerationBenchmarks.OrtGenAI_Generator)) / Mean(nameof(GenerationBenchmarks.LlmAdapt_OnnxDecoderModel));
            ratios.Add($"ratio_vs_ortgenai_{model}={ratio:F3}");
        }

        Console.WriteLine(string.Join(' ', ratios));
        return Task.FromResult(0);
    }
}
