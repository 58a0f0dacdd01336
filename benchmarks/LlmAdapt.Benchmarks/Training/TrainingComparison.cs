using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>
/// `compare training`: the engine's matrix multiply against ONNX Runtime's MatMul (GFLOP/s ratio, geometric mean over
/// the model's shapes), then training throughput in tokens/s with model FLOPs utilisation against the best MatMul
/// GFLOP/s measured in the same run (whichever library reached it).
/// </summary>
internal static class TrainingComparison
{
    public static Task<int> RunAsync(string[] args)
    {
        var job = Job.Default.WithWarmupCount(2).WithIterationCount(5).WithToolchain(InProcessEmitToolchain.Instance).WithId("inproc-short");
        var config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var matmul = BenchmarkRunner.Run<MatMulBenchmarks>(config, args);
        var step = BenchmarkRunner.Run<TrainingStepBenchmarks>(config, args);

        var ratios = new List<double>();
        var peak = 0.0;
        foreach (var shape in MatMulBenchmarks.Shapes)
        {
            var flops = new MatMulBenchmarks { Shape = shape }.Flops;
            double Gflops(string method) => flops / matmul.Reports
                .Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method && (string)r.BenchmarkCase.Parameters["Shape"] == shape)
                .Select(r => r.ResultStatistics?.Mean ?? double.NaN).FirstOrDefault(double.NaN);
            var engine = Gflops(nameof(MatMulBenchmarks.Engine_MatMul));
            var ort = Gflops(nameof(MatMulBenchmarks.OnnxRuntime_MatMul));
            Console.WriteLine($"{shape}: engine {engine:F1} GFLOP/s, onnxruntime {ort:F1} GFLOP/s, ratio {engine / ort:F3}");
            ratios.Add(engine / ort);
            peak = Math.Max(peak, Math.Max(engine, ort));
        }

        var stepNs = step.Reports.Select(r => r.ResultStatistics?.Mean ?? double.NaN).FirstOrDefault(double.NaN);
        var tokensPerSecond = TrainingStepBenchmarks.TokensPerStep / (stepNs / 1e9);
        var mfu = tokensPerSecond * TrainingStepBenchmarks.FlopsPerToken / (peak * 1e9);
        var ratio = Math.Exp(ratios.Average(Math.Log));
        Console.WriteLine($"training: {tokensPerSecond:F0} tokens/s at {TrainingStepBenchmarks.FlopsPerToken / 1e6:F1} MFLOP/token; peak MatMul {peak:F1} GFLOP/s on {Environment.ProcessorCount} cores");
        Console.WriteLine($"matmul_ratio_vs_ort={ratio:F3} mfu={mfu:F3}");
        return Task.FromResult(0);
    }
}
