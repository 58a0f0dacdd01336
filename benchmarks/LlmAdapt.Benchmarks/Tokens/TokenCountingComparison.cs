using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using LlmAdapt.Benchmarks.Tokens;

namespace LlmAdapt.Benchmarks;

/// <summary>
/// `compare tokens`: the overhead of <see cref="LlmAdapt.Tokens.TokenCounter"/> over the tokenizer it wraps, as the
/// time ratio of counting the same 2,000 paragraphs. <c>overhead_…</c> is measured side by side in this process (101
/// rounds alternating which goes first, <see cref="Measurements.AlternatingRatio"/>); <c>overhead_phases_…</c> is the
/// ratio of BenchmarkDotNet's medians, whose two sides run in separate processes and moved 1.06–1.53 on one idle VM.
/// </summary>
internal static class TokenCountingComparison
{
    public static Task<int> RunAsync(string[] args)
    {
        // Medians over 15 iterations: the machine is shared, so means are pulled by outliers.
        var config = DefaultConfig.Instance.AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(15).WithId("median15")).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summary = BenchmarkRunner.Run<TokenCountingBenchmarks>(config, args);
        var ratios = new List<string>();
        foreach (var model in new[] { "gpt-4o", "gpt-4" })
        {
            double Median(string method) => summary.Reports
                .Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method && r.BenchmarkCase.Parameters["Model"] as string == model)
                .Select(r => r.ResultStatistics?.Median ?? double.NaN).FirstOrDefault(double.NaN);
            var phases = Median(nameof(TokenCountingBenchmarks.TokenCounter_LlmAdapt)) / Median(nameof(TokenCountingBenchmarks.Tokenizer_Direct));
            var bench = new TokenCountingBenchmarks { Model = model };
            bench.Setup();
            var sideBySide = Measurements.AlternatingRatio(() => bench.TokenCounter_LlmAdapt(), () => bench.Tokenizer_Direct(), rounds: 101);
            var name = model.Replace("-", "", StringComparison.Ordinal).Replace(".", "", StringComparison.Ordinal);
            ratios.Add(FormattableString.Invariant($"overhead_{name}={sideBySide:F3} overhead_phases_{name}={phases:F3}"));
        }

        Console.WriteLine(FormattableString.Invariant($"load average {Measurements.LoadAverage()}"));
        Console.WriteLine(string.Join(' ', ratios));
        return Task.FromResult(0);
    }
}
