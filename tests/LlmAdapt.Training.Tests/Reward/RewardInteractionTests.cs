using LlmAdapt.Preference;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;

namespace LlmAdapt.Training.Tests.Reward;

public sealed class RewardInteractionTests
{
    [Fact]
    public async Task InteractionFeature_IsTheProductOfPromptAndResponseEmbeddings()
    {
        var generator = new SyntheticEmbeddingGenerator(dimensions: 8);
        var featurizer = new RewardFeaturizer(generator, RewardFeatures.Response | RewardFeatures.Interaction, 500);
        var (rows, dimension) = await featurizer.FeaturesAsync([("Human: is it safe?\n\nAssistant:", "yes")], i => $"item {i}", null, CancellationToken.None);

        var response = (await generator.GenerateAsync(["yes"]))[0].Vector.ToArray();
        var prompt = (await generator.GenerateAsync([RewardFeaturizer.PromptTail("Human: is it safe?\n\nAssistant:", 500)]))[0].Vector.ToArray();
        Assert.Equal(8, dimension);
        Assert.Equal(16, rows[0].Length);
        Assert.Equal(response, rows[0][..8]);
        Assert.Equal(response.Zip(prompt, (r, p) => r * p).ToArray(), rows[0][8..]);
    }

    [Fact]
    public async Task RewardEnsemble_TrainsAndIsRepeatable()
    {
        var dir = Directory.CreateTempSubdirectory("llmadapt-reward-ensemble-").FullName;
        try
        {
            // Responses that contain "good" beat those that do not.
            var pairs = Enumerable.Range(0, 120).Select(i => new PreferencePair { Prompt = $"Human: question {i % 7}\n\nAssistant:", Chosen = $"good answer {i}", Rejected = $"bad answer {i}" }).ToArray();
            var generator = HashingEmbeddingGenerator.WordsAndBigrams(64, "test/hashing-64");
            var options = new RewardModelOptions { Head = HeadKind.Mlp, HiddenSize = 8, EnsembleSize = 3, Features = RewardFeatures.Response | RewardFeatures.Interaction, MaxEpochs = 8 };
            var first = await new RewardModelTrainer(generator, options).TrainAsync(new() { TrainingPairs = pairs, OutputPath = Path.Combine(dir, "a"), Seed = 2 });
            await new RewardModelTrainer(generator, options).TrainAsync(new() { TrainingPairs = pairs, OutputPath = Path.Combine(dir, "b"), Seed = 2 });

            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir, "a", "head.safetensors")), await File.ReadAllBytesAsync(Path.Combine(dir, "b", "head.safetensors")));
            var model = await RewardModel.LoadAsync(first.Path, generator);
            Assert.Equal(RewardFeatures.Response | RewardFeatures.Interaction, model.Features);
            Assert.True((await model.EvaluateAsync(pairs)).Accuracy > 0.9);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
