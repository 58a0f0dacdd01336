using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using LlmAdapt.Benchmarks.Tokens;

namespace LlmAdapt.Benchmarks;

/// <summary>`compare tokens`: the overhead of <see cref="LlmAdapt.Tokens.TokenCounter"/> over the tokenizer it wraps.</summary>
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
            var ratio = Median(nameof(TokenCountingBenchmarks.TokenCounter_LlmAdapt)) / Median(nameof(TokenCountingBenchmarks.Tokenizer_Direct));
            ratios.Add($"overhead_{model.Replace("-", "", StringComparison.Ordinal).Replace(".", "", StringComparison.Ordinal)}={ratio:F3}");
        }

        Console.WriteLine(string.Join(' ', ratios));
        return Task.FromResult(0);
    }
}
