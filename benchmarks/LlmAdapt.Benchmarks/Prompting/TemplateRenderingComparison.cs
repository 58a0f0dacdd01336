using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace LlmAdapt.Benchmarks.Prompting;

/// <summary>`compare templates`: rendering prompts with <see cref="LlmAdapt.Prompting.Templates.PromptTemplate"/> against Handlebars.Net and DotLiquid.</summary>
internal static class TemplateRenderingComparison
{
    public static Task<int> RunAsync(string[] args)
    {
        // Medians over a short run: the machine is shared, so means are pulled by outliers. In process: the three
        // engines run side by side in one process, and no boilerplate project is built (that alone can take minutes here).
        var job = Job.Default.WithWarmupCount(2).WithIterationCount(10).WithToolchain(InProcessEmitToolchain.Instance).WithId("inproc-median10");
        var config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summary = BenchmarkRunner.Run<TemplateRenderingBenchmarks>(config, args);
        double Median(string method) => summary.Reports
            .Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method)
            .Select(r => r.ResultStatistics?.Median ?? double.NaN).FirstOrDefault(double.NaN);
        var ours = Median(nameof(TemplateRenderingBenchmarks.PromptTemplate_LlmAdapt));
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"llmadapt_over_handlebars={ours / Median(nameof(TemplateRenderingBenchmarks.Handlebars_Net)):F3} llmadapt_over_dotliquid={ours / Median(nameof(TemplateRenderingBenchmarks.DotLiquid_Peer)):F3}"));
        return Task.FromResult(0);
    }
}
