using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlmAdapt.Training;
using LlmAdapt.Training.Heads;
using Microsoft.ML;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>
/// `compare heads`: SST-2 with the built-in MiniLM embeddings. Trains LlmAdapt's linear and MLP heads on train.tsv with
/// the settings `--sweep` chose on held-out train.tsv sentences (dev.tsv's phrases come from train.tsv's sentences, so
/// it flatters memorising models), early-stopped on 10% of train.tsv's sentences held out whole, and reports dev.tsv and
/// test.tsv; ML.NET's LbfgsLogisticRegression has its L2 chosen on dev.tsv. Then times head training (no encoder) on the
/// first 20,000 training phrases: BenchmarkDotNet wall time and process CPU time. Options: --embedding-layers N, --embedding-pooling P and --embedding-normalize B
/// (richer features for every model, ML.NET included; see <see cref="FeatureStore"/>), --train-limit N (the first N
/// phrases), --no-timing, --timing-only (the linear head against ML.NET with L2 0.1), --sweep (see <see cref="HeadSweep"/>).
/// </summary>
internal static class HeadComparison
{
    /// <summary>The linear head's setting (batch 256, no weight decay), early-stopped on held-out sentences.</summary>
    internal static readonly TaskHeadOptions LinearSetting = new() { Head = HeadKind.Linear, BatchSize = 256, WeightDecay = 0, ValidationSplit = ValidationSplit.BySourceText };

    /// <summary>The MLP setting `compare heads --sweep` chose on held-out train.tsv sentences (test.tsv unseen).</summary>
    internal static readonly TaskHeadOptions MlpSetting = new() { Head = HeadKind.Mlp, HiddenSize = 512, Dropout = 0.5, InputDropout = 0.2, WeightDecay = 0.1, LearningRate = 3e-4, MaxEpochs = 10, WeightByLength = true, ValidationSplit = ValidationSplit.BySourceText };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--timing-only"))
        {
            // The linear head with batch 256 (test 0.8165 in the full run) against ML.NET with its dev-chosen L2 (0.1).
            var (wallRatio, cpuRatio) = RunTiming(LinearSetting, 0.1f, args, await HeadTrainingBenchmarks.TimingData.LoadAsync(20_000, args).ConfigureAwait(false));
            Console.WriteLine(FormattableString.Invariant($"train_time_linear_vs_mlnet={wallRatio:F3} train_cpu_linear_vs_mlnet={cpuRatio:F3}"));
            return 0;
        }

        var limit = ArgValue(args, "--train-limit");
        var train = (await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/train.tsv"), "sentence", "label").ConfigureAwait(false)).ToArray();
        if (limit is int n && n < train.Length)
        {
            train = train[..n]; // the first n phrases of train.tsv
        }

        var dev = await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/dev.tsv"), "sentence", "label").ConfigureAwait(false);
        var test = await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/test.tsv"), "sentence", "label").ConfigureAwait(false);
        Dictionary<string, float[]> vectors;
        string modelId;
        using (var store = new FeatureStore(args))
        {
            modelId = store.ModelId;
            var clock = Stopwatch.StartNew();
            vectors = await store.EmbedAsync(train.Concat(dev).Concat(test).Select(e => e.Input), "SST-2").ConfigureAwait(false);
            Console.WriteLine($"embedded {vectors.Count:N0} distinct texts in {clock.Elapsed.TotalSeconds:F0} s ({store.Misses:N0} computed, the rest from the cache)");
        }

        var generator = new PrecomputedEmbeddingGenerator(vectors, modelId);
        if (args.Contains("--sweep"))
        {
            await HeadSweep.RunAsync(generator, train, dev, vectors, args).ConfigureAwait(false);
            return 0;
        }

        var folder = Directory.CreateTempSubdirectory("llmadapt-compare-heads-").FullName;
        try
        {
            Console.WriteLine($"SST-2: {train.Length:N0} train, {dev.Count:N0} dev, {test.Count:N0} test; features {modelId} ({vectors.Values.First().Length})");
            var linear = await FinalHeadAsync(generator, train, dev, test, folder, "linear", LinearSetting).ConfigureAwait(false);
            var mlp = await FinalHeadAsync(generator, train, dev, test, folder, "mlp", MlpSetting).ConfigureAwait(false);
            var peer = MlNetBest(train, dev, test, vectors);

            var timing = "";
            if (!args.Contains("--no-timing"))
            {
                var (wallRatio, cpuRatio) = RunTiming(LinearSetting, peer.L2, args, await HeadTrainingBenchmarks.TimingData.LoadAsync(20_000, args).ConfigureAwait(false));
                timing = FormattableString.Invariant($" train_time_linear_vs_mlnet={wallRatio:F3} train_cpu_linear_vs_mlnet={cpuRatio:F3}");
            }

            Console.WriteLine(FormattableString.Invariant(
                $"linear_test_acc={linear.Test:F4} linear_test_f1={linear.TestF1:F4} mlp_test_acc={mlp.Test:F4} mlp_test_f1={mlp.TestF1:F4} mlnet_lbfgs_test_acc={peer.Test:F4} mlnet_lbfgs_test_f1={peer.TestF1:F4} linear_vs_mlnet={linear.Test / peer.Test:F3} mlp_vs_mlnet={mlp.Test / peer.Test:F3}{timing}"));
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// BenchmarkDotNet, in process, 1 warm-up and 3 measured fits each; then the process CPU time of 5 more fits each (interleaved, the median)
    /// (other load on a shared machine inflates wall time but not CPU time). Returns LlmAdapt / ML.NET for both.
    /// </summary>
    private static (double Wall, double Cpu) RunTiming(TaskHeadOptions linear, float l2, string[] args, HeadTrainingBenchmarks.TimingData data)
    {
        // Training alone: the same head with the plain stratified split (grouping phrases by sentence is data preparation
        // with a cost of its own, and ML.NET's fit holds nothing out).
        HeadTrainingBenchmarks.Shared = data with { LinearOptions = Stratified(linear), L2 = l2 };
        var job = Job.Dry.WithWarmupCount(1).WithIterationCount(3).WithInvocationCount(1).WithUnrollFactor(1).WithLaunchCount(1).WithToolchain(InProcessEmitToolchain.Instance).WithId("short-inproc");
        var config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summary = BenchmarkRunner.Run<HeadTrainingBenchmarks>(config, args.Where(a => a.StartsWith("--filter", StringComparison.Ordinal)).ToArray());
        double Mean(string method) => summary.Reports.Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method).Select(r => r.ResultStatistics?.Mean ?? double.NaN).FirstOrDefault(double.NaN);
        var wall = Mean(nameof(HeadTrainingBenchmarks.LlmAdapt_LinearHead)) / Mean(nameof(HeadTrainingBenchmarks.MlNet_LbfgsLogisticRegression));

        var bench = new HeadTrainingBenchmarks();
        bench.Setup();
        try
        {
            // Interleaved, so a burst of load hits both sides alike; the median of 5 fits each.
            double CpuOnce(Func<object> fit)
            {
                var process = Process.GetCurrentProcess();
                var before = process.TotalProcessorTime;
                fit();
                process.Refresh();
                return (process.TotalProcessorTime - before).TotalSeconds;
            }

            bench.LlmAdapt_LinearHead();
            bench.MlNet_LbfgsLogisticRegression();
            var oursRuns = new List<double>();
            var peerRuns = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                oursRuns.Add(CpuOnce(bench.LlmAdapt_LinearHead));
                peerRuns.Add(CpuOnce(bench.MlNet_LbfgsLogisticRegression));
            }

            var ours = oursRuns.Order().ElementAt(2);
            var peer = peerRuns.Order().ElementAt(2);
            Console.WriteLine(FormattableString.Invariant($"  CPU time per fit (20,000 phrases): LlmAdapt linear head {ours:F2} s, ML.NET LbfgsLogisticRegression {peer:F2} s"));
            return (wall, ours / peer);
        }
        finally
        {
            bench.Cleanup();
        }
    }

    /// <summary>
    /// Trains on all of train.tsv with early stopping on 10% of its sentences held out whole (with their phrases), then
    /// reports dev.tsv and test.tsv once.
    /// </summary>
    private static async Task<(double Dev, double Test, double TestF1)> FinalHeadAsync(
        PrecomputedEmbeddingGenerator generator, IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample> dev, IReadOnlyList<TrainingExample> test, string folder, string name, TaskHeadOptions options)
    {
        var path = Path.Combine(folder, name);
        var clock = Stopwatch.StartNew();
        var artifact = await new TaskHeadTrainer(generator, options).FineTuneAsync(new FineTuningRequest { TrainingSet = train, OutputPath = path }).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var classifier = await TextClassifier.LoadAsync(path, generator).ConfigureAwait(false);
        var devMetrics = await classifier.EvaluateAsync(dev).ConfigureAwait(false);
        var testMetrics = await classifier.EvaluateAsync(test).ConfigureAwait(false);
        Console.WriteLine(FormattableString.Invariant(
            $"  {name} hidden={(options.Head == HeadKind.Mlp ? options.HiddenSize : 0)} dropout={options.Dropout} input_dropout={options.InputDropout} lr={options.LearningRate} wd={options.WeightDecay} batch={options.BatchSize} ensemble={options.EnsembleSize} weight_by_length={options.WeightByLength}: held-out sentences' phrases {artifact.Report.Metrics["accuracy"]:F4}, dev {devMetrics.Accuracy:F4}, test {testMetrics.Accuracy:F4} (macro-F1 {testMetrics.MacroF1:F4}, ECE {testMetrics.ExpectedCalibrationError:F4}), {artifact.Report.History.Count} epochs, {seconds:F1} s"));
        return (devMetrics.Accuracy, testMetrics.Accuracy, testMetrics.MacroF1);
    }

    private static (float L2, double Dev, double Test, double TestF1) MlNetBest(IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample> dev, IReadOnlyList<TrainingExample> test, Dictionary<string, float[]> vectors)
    {
        float[][] X(IReadOnlyList<TrainingExample> set) => set.Select(e => vectors[e.Input]).ToArray();
        bool[] Y(IReadOnlyList<TrainingExample> set) => set.Select(e => e.Label == "1").ToArray();
        var ml = new MLContext(seed: 0);
        (float L2, double Dev, double Test, double TestF1) best = (0, -1, 0, 0);
        foreach (var l2 in new[] { 0.01f, 0.1f, 1f, 10f })
        {
            var clock = Stopwatch.StartNew();
            var model = MlNetLogistic.Fit(ml, X(train), Y(train), l2);
            var seconds = clock.Elapsed.TotalSeconds;
            var devAccuracy = MlNetLogistic.Accuracy(MlNetLogistic.Probabilities(ml, model, X(dev)), Y(dev));
            var testProbabilities = MlNetLogistic.Probabilities(ml, model, X(test));
            var testAccuracy = MlNetLogistic.Accuracy(testProbabilities, Y(test));
            var testF1 = ClassificationMetrics.Compute(["0", "1"], Y(test).Select(y => y ? 1 : 0).ToArray(), testProbabilities.Select(p => new double[] { 1 - p, p }).ToArray()).MacroF1;
            Console.WriteLine(FormattableString.Invariant($"  ML.NET LbfgsLogisticRegression l2={l2}: dev {devAccuracy:F4}, test {testAccuracy:F4} (macro-F1 {testF1:F4}), fit {seconds:F1} s"));
            if (devAccuracy > best.Dev)
            {
                best = (l2, devAccuracy, testAccuracy, testF1);
            }
        }

        return best;
    }

    private static TaskHeadOptions Stratified(TaskHeadOptions o) => new()
    {
        Head = o.Head, HiddenSize = o.HiddenSize, Dropout = o.Dropout, InputDropout = o.InputDropout, LearningRate = o.LearningRate, WeightDecay = o.WeightDecay,
        BatchSize = o.BatchSize, MaxEpochs = o.MaxEpochs, Patience = o.Patience, EnsembleSize = o.EnsembleSize, WeightByLength = o.WeightByLength, ValidationSplit = ValidationSplit.Stratified,
    };

    internal static int? ArgValue(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : null;
    }
}
