using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Training.Tests.FineTuning;

public sealed class ContinuedPretrainingTests
{
    [Fact]
    public async Task TinyModel_OnShakespeare_LowersValidationLoss_AndWritesAHuggingFaceCheckpoint()
    {
        // Sample: the first 40,000 characters of tinyshakespeare (about 11k GPT-2 tokens), fixed seed.
        var text = (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..40_000];
        var output = TestData.TempDirectory();
        var options = new DecoderTrainingOptions
        {
            Steps = 30,
            BatchSize = 4,
            SequenceLength = 32,
            WarmupSteps = 5,
            LearningRate = 3e-3,
            EvaluationInterval = 10,
            EvaluationBatches = 4,
            CheckpointInterval = 30,
            NewModel = new Gpt2Config { Layers = 1, Heads = 2, Channels = 16, ContextLength = 32 },
        };
        var tuner = new ContinuedPretrainingFineTuner(options);
        var artifact = await tuner.FineTuneAsync(new FineTuningRequest { TrainingSet = [new TrainingExample { Input = text }], OutputPath = output, Seed = 1 });

        var validation = artifact.Report.History.Where(h => h.ValidationLoss is not null).Select(h => h.ValidationLoss!.Value).ToArray();
        Assert.Equal(3, validation.Length);
        Assert.True(validation[^1] < validation[0] - 0.3, $"validation loss {string.Join(" -> ", validation.Select(v => v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(artifact.Report.History[0].TrainingLoss > 10, "a fresh model starts near ln(50257) = 10.8");
        Assert.Equal(ArtifactKinds.Checkpoint, artifact.Kind);
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(output, "optimizer.safetensors")));
        Assert.InRange(artifact.Report.Metrics["unigram_entropy"], 4, 9);
    }

    [Fact]
    public async Task EmptyCorpus_IsRejected_NamingTheOrigin()
    {
        var tuner = new ContinuedPretrainingFineTuner(new DecoderTrainingOptions { Steps = 1, WarmupSteps = 0, SequenceLength = 16, NewModel = new Gpt2Config { Layers = 1, Heads = 1, Channels = 8, ContextLength = 16 } });
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => tuner.FineTuneAsync(new FineTuningRequest { TrainingSet = [new TrainingExample { Input = string.Empty, Origin = "empty.txt" }], OutputPath = TestData.TempDirectory() }));
        Assert.Contains("empty.txt", ex.Message, StringComparison.Ordinal);
        Assert.Contains("0 tokens", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreValidated_ListingEveryProblem()
    {
        var ex = Assert.Throws<InvalidOptionsException>(() => new ContinuedPretrainingFineTuner(new DecoderTrainingOptions { Steps = 0, LearningRate = -1 }));
        Assert.Contains("Steps", ex.Message, StringComparison.Ordinal);
        Assert.Contains("LearningRate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnigramEntropy_OfTwoEquallyLikelyTokens_IsLn2()
        => Assert.Equal(Math.Log(2), ContinuedPretrainingFineTuner.UnigramEntropy([1, 2, 1, 2]), 12);
}
