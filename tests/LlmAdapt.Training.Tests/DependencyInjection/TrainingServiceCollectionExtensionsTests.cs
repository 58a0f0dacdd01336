using LlmAdapt.Preference;
using LlmAdapt.Training.Dpo;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;
using LlmAdapt.Training.Tests.Reward;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Training.Tests.DependencyInjection;

public sealed class TrainingServiceCollectionExtensionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-di-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Trainers_ResolveByInterface_WithBoundOptions()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:TaskHeads:Head"] = "Mlp",
            ["LlmAdapt:TaskHeads:HiddenSize"] = "64",
            ["LlmAdapt:RewardModel:Features"] = "Response, Length",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(HashingEmbeddingGenerator.WordsAndBigrams());
        services.AddLlmAdapt(configuration, b => b.AddTaskHeads().AddRewardModelTrainer());
        using var provider = services.BuildServiceProvider();

        var tuner = Assert.Single(provider.GetServices<IFineTuner>());
        Assert.Equal("task-head", tuner.Name);
        Assert.Equal(HeadKind.Mlp, provider.GetRequiredService<TaskHeadTrainer>().Options.Head);
        Assert.Equal(64, provider.GetRequiredService<TaskHeadTrainer>().Options.HiddenSize);
        var preference = Assert.Single(provider.GetServices<IPreferenceTrainer>());
        Assert.Equal("reward-model", preference.Name);
        Assert.Equal(RewardFeatures.Response | RewardFeatures.Length, provider.GetRequiredService<RewardModelTrainer>().Options.Features);
    }

    [Fact]
    public void DpoTrainer_ResolvesByKey_BesideTheRewardModelTrainer_WithBoundOptions()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:Dpo:Loss"] = "Ipo",
            ["LlmAdapt:Dpo:Beta"] = "0.25",
            ["LlmAdapt:Dpo:Training:Steps"] = "30",
            ["LlmAdapt:Dpo:Training:Lora:Rank"] = "4",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(HashingEmbeddingGenerator.WordsAndBigrams());
        services.AddLlmAdapt(configuration, b => b.AddRewardModelTrainer().AddDpoTrainer(o => o.MaxPromptTokens = 64).AddDpoTrainer());
        using var provider = services.BuildServiceProvider();

        Assert.Equal(["reward-model", "dpo"], provider.GetServices<IPreferenceTrainer>().Select(t => t.Name));
        var dpo = Assert.IsType<DpoTrainer>(provider.GetRequiredKeyedService<IPreferenceTrainer>(DpoTrainer.TrainerName));
        Assert.IsType<RewardModelTrainer>(provider.GetRequiredKeyedService<IPreferenceTrainer>(RewardModelTrainer.TrainerName));
        Assert.Same(provider.GetRequiredService<DpoTrainer>(), dpo);
        Assert.Equal(DpoLossType.Ipo, dpo.Options.Loss);
        Assert.Equal(0.25, dpo.Options.Beta);
        Assert.Equal(64, dpo.Options.MaxPromptTokens);
        Assert.Equal(30, dpo.Options.Training.Steps);
        Assert.Equal(4, dpo.Options.Training.Lora!.Rank);
    }

    [Theory]
    [InlineData(0.0, 0.0, "Beta is 0")]
    [InlineData(0.1, 0.7, "LabelSmoothing is 0.7")]
    public void InvalidDpoOptions_FailValidation_NamingTheSection(double beta, double smoothing, string problem)
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(b => b.AddDpoTrainer(o => { o.Beta = beta; o.LabelSmoothing = smoothing; o.Loss = DpoLossType.Robust; }));
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<DpoOptions>>().Value);
        Assert.Contains("LlmAdapt:Dpo", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidOptions_FailValidation_NamingTheSection()
    {
        var services = new ServiceCollection().AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(HashingEmbeddingGenerator.WordsAndBigrams());
        services.AddLlmAdapt(b => b.AddTaskHeads(o => o.BatchSize = 0));
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TaskHeadOptions>>().Value);
        Assert.Contains("LlmAdapt:TaskHeads", ex.Message, StringComparison.Ordinal);
        Assert.Contains("BatchSize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RewardModelScorer_PlugsIntoBestOfN_FromServices()
    {
        var generator = HashingEmbeddingGenerator.WordsAndBigrams(256, "test/hashing-256");
        var path = Path.Combine(_dir, "rm");
        await new RewardModelTrainer(generator, new RewardModelOptions { Head = HeadKind.Linear, MaxEpochs = 20 })
            .TrainAsync(new PreferenceTrainingRequest { TrainingPairs = RewardModelTrainerTests.SyntheticPairs(300, 1), OutputPath = path });

        var services = new ServiceCollection().AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(generator);
        services.AddLlmAdapt(b => b.AddRewardModelScorer(path));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<RewardModel>(provider.GetRequiredService<IResponseScorer>());

        using var client = new ChatClientBuilder(ScriptedChatClient.Sequence("go away stupid", "glad to help, here is a clear answer")).UseBestOfN(configure: o => { o.N = 2; o.MaxConcurrency = 1; }).Build(provider);
        Assert.Equal("glad to help, here is a clear answer", (await client.GetResponseAsync("help me")).Text);
    }
}
