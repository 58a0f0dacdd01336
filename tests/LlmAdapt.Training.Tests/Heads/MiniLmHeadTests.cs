using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Preference;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;

namespace LlmAdapt.Training.Tests.Heads;

/// <summary>The heads on the real all-MiniLM-L6-v2 encoder (ONNX Runtime), on small seeded samples so CI stays fast.</summary>
public sealed class MiniLmHeadTests : IClassFixture<MiniLmHeadTests.Encoder>, IDisposable
{
    private readonly Encoder _encoder;
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-minilm-").FullName;

    public MiniLmHeadTests(Encoder encoder) => _encoder = encoder;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>SST-2: 400 training phrases and 100 dev sentences (seed 7), the first 150 test sentences.</summary>
    [Fact]
    public async Task Sst2Sample_LinearHeadOnMiniLm_BeatsTheFloor_AndReloadsIdentically()
    {
        var (train, dev, test) = await TaskHeadTrainerTests.Sst2SampleAsync(train: 400, dev: 100);
        var trainer = new TaskHeadTrainer(_encoder.Generator, new TaskHeadOptions { Head = HeadKind.Linear, MaxEpochs = 30, LearningRate = 3e-3 });
        var artifact = await trainer.FineTuneAsync(new FineTuningRequest { TrainingSet = train, ValidationSet = dev, OutputPath = Path.Combine(_dir, "sst2") });
        Assert.Equal(_encoder.Generator.ModelId, artifact.BaseModel);
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", artifact.BaseModel);

        var classifier = await TextClassifier.LoadAsync(artifact.Path, _encoder.Generator);
        Assert.Equal(384, classifier.EmbeddingDimension);
        var metrics = await classifier.EvaluateAsync(test.Take(150).ToArray());
        Assert.True(metrics.Accuracy >= 0.72, $"MiniLM linear head on 400 phrases: test accuracy {metrics.Accuracy:F3}");
        Assert.Equal(artifact.Report.Metrics["accuracy"], (await classifier.EvaluateAsync(dev)).Accuracy, 12);

        var positive = await classifier.ClassifyAsync("A warm, funny and beautifully acted film.");
        var negative = await classifier.ClassifyAsync("A tedious, badly written mess.");
        Assert.Equal("1", positive.Label);
        Assert.Equal("0", negative.Label);
    }

    /// <summary>HH-RLHF: the first 50 pairs whose two responses are each under 200 characters; response features only, linear reward.</summary>
    [Fact]
    public async Task HhRlhfSample_RewardModelOnMiniLm_FitsAndReloadsIdentically()
    {
        var pairs = (await PreferenceDataReader.ReadPairsAsync(TestData.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz"), limits: new PreferenceLimits { AllowEmptyResponses = true }))
            .Where(p => p.Chosen.Length < 200 && p.Rejected.Length < 200).Take(50).ToArray();
        var trainer = new RewardModelTrainer(_encoder.Generator, new RewardModelOptions { Head = HeadKind.Linear, Features = RewardFeatures.Response, MaxEpochs = 100, Patience = 0, LearningRate = 1e-2, WeightDecay = 0, CenteringCoefficient = 0 });
        var artifact = await trainer.TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs[..40], ValidationPairs = pairs[40..], OutputPath = Path.Combine(_dir, "rm") });
        Assert.True(artifact.Report.Metrics["train_pairwise_accuracy"] > 0.85, $"train pairwise accuracy {artifact.Report.Metrics["train_pairwise_accuracy"]:F3}");
        Assert.True(artifact.Report.FinalTrainingLoss < artifact.Report.History[0].TrainingLoss);

        var model = await RewardModel.LoadAsync(artifact.Path, _encoder.Generator);
        Assert.Equal(artifact.Report.Metrics["pairwise_accuracy"], (await model.EvaluateAsync(pairs[40..])).Accuracy, 12);
    }

    public sealed class Encoder : IDisposable
    {
        public OnnxEmbeddingGenerator Generator { get; } = OnnxEmbeddingGenerator.CreateDefault();

        public void Dispose() => Generator.Dispose();
    }
}
