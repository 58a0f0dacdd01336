using LlmAdapt.Preference;
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
        var services = new ServiceCollection().AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(new HashingEmbeddingGenerator());
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
    public void InvalidOptions_FailValidation_NamingTheSection()
    {
        var services = new ServiceCollection().AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(new HashingEmbeddingGenerator());
        services.AddLlmAdapt(b => b.AddTaskHeads(o => o.BatchSize = 0));
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TaskHeadOptions>>().Value);
        Assert.Contains("LlmAdapt:TaskHeads", ex.Message, StringComparison.Ordinal);
        Assert.Contains("BatchSize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RewardModelScorer_PlugsIntoBestOfN_FromServices()
    {
        var generator = new HashingEmbeddingGenerator(256, "test/hashing-256");
        var path = Path.Combine(_dir, "rm");
        await new RewardModelTrainer(generator, new RewardModelOptions { Head = HeadKind.Linear, MaxEpochs = 20 })
            .TrainAsync(new PreferenceTrainingRequest { TrainingPairs = RewardModelTrainerTests.SyntheticPairs(300, 1), OutputPath = path });

        var services = new ServiceCollection().AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(generator);
        services.AddLlmAdapt(b => b.AddRewardModelScorer(path));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<RewardModel>(provider.GetRequiredService<IResponseScorer>());

        var answers = new Queue<string>(["go away stupid", "glad to help, here is a clear answer"]);
        using var client = new ChatClientBuilder(new QueueClient(answers)).UseBestOfN(configure: o => { o.N = 2; o.MaxConcurrency = 1; }).Build(provider);
        Assert.Equal("glad to help, here is a clear answer", (await client.GetResponseAsync("help me")).Text);
    }

    private sealed class QueueClient(Queue<string> answers) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            lock (answers)
            {
                return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, answers.Dequeue())));
            }
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
