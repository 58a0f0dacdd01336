using BenchmarkDotNet.Attributes;
using LlmAdapt.Training;
using LlmAdapt.Training.Heads;
using Microsoft.ML;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>
/// Training time of a head on precomputed MiniLM features (no encoder cost): LlmAdapt's linear head (AdamW, early stopping
/// on a 10% split) against ML.NET's <c>LbfgsLogisticRegression</c> on the same rows. Data is set by <see cref="HeadComparison"/>
/// (in-process toolchain) or loaded from the embedding cache in <see cref="Setup"/>.
/// </summary>
[MemoryDiagnoser]
public class HeadTrainingBenchmarks
{
    private string _out = string.Empty;

    internal static TimingData? Shared { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Shared ??= TimingData.LoadAsync(20_000).GetAwaiter().GetResult();
        _out = Directory.CreateTempSubdirectory("llmadapt-bench-head-").FullName;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_out, recursive: true);

    [Benchmark(Baseline = true)]
    public object MlNet_LbfgsLogisticRegression()
    {
        var data = Shared!;
        return MlNetLogistic.Fit(new MLContext(seed: 0), data.Features, data.Labels, data.L2);
    }

    [Benchmark]
    public object LlmAdapt_LinearHead()
    {
        var data = Shared!;
        return new TaskHeadTrainer(data.Generator, data.LinearOptions)
            .FineTuneAsync(new FineTuningRequest { TrainingSet = data.Examples, OutputPath = _out })
            .GetAwaiter().GetResult();
    }

    internal sealed record TimingData(IReadOnlyList<TrainingExample> Examples, float[][] Features, bool[] Labels, PrecomputedEmbeddingGenerator Generator, TaskHeadOptions LinearOptions, float L2)
    {
        /// <summary>The first <paramref name="count"/> training phrases with their features (`--embedding-*` in <paramref name="args"/> pick them).</summary>
        public static async Task<TimingData> LoadAsync(int count, string[]? args = null)
        {
            var train = await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/train.tsv"), "sentence", "label").ConfigureAwait(false);
            var sample = train.Take(count).ToArray();
            using var store = new FeatureStore(args);
            var vectors = await store.EmbedAsync(sample.Select(e => e.Input), "SST-2 timing sample").ConfigureAwait(false);
            return new TimingData(sample, sample.Select(e => vectors[e.Input]).ToArray(), sample.Select(e => e.Label == "1").ToArray(), new PrecomputedEmbeddingGenerator(vectors, store.ModelId), new TaskHeadOptions(), 1f);
        }
    }
}
