using LlmAdapt.Preference;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Tests.Reward;

public sealed class RewardModelTrainerTests : IDisposable
{
    private static readonly string[] s_good = ["glad", "help", "here", "clear", "safe", "thanks", "gladly", "explain"];
    private static readonly string[] s_bad = ["no", "stupid", "refuse", "whatever", "hate", "annoying", "dumb", "go"];
    private static readonly string[] s_filler = ["the", "answer", "is", "about", "your", "question", "and", "it", "we", "can", "this"];

    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-reward-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    /// <summary>Responses mixing filler with words people like or dislike; the one with more liked words is chosen.</summary>
    internal static List<PreferencePair> SyntheticPairs(int count, int seed)
    {
        var random = new Random(seed);
        string Response(string[] tone, int toneWords)
            => string.Join(' ', Enumerable.Range(0, 8).Select(_ => s_filler[random.Next(s_filler.Length)])
                .Concat(Enumerable.Range(0, toneWords).Select(_ => tone[random.Next(tone.Length)]))
                .OrderBy(_ => random.Next()));
        return Enumerable.Range(0, count).Select(i => new PreferencePair
        {
            Prompt = $"\n\nHuman: question {random.Next(1000)}\n\nAssistant:",
            Chosen = " " + Response(s_good, 1 + random.Next(3)),
            Rejected = " " + Response(s_bad, 1 + random.Next(3)),
            Origin = $"synthetic:{i + 1}",
        }).ToList();
    }

    [Theory]
    [InlineData(HeadKind.Linear)]
    [InlineData(HeadKind.Mlp)]
    public async Task Synthetic_LearnsThePreference_OnHeldOutPairs(HeadKind head)
    {
        var generator = HashingEmbeddingGenerator.WordsAndBigrams(256, "test/hashing-256");
        var trainer = new RewardModelTrainer(generator, new RewardModelOptions { Head = head, HiddenSize = 32, MaxEpochs = 20 });
        var artifact = await trainer.TrainAsync(new PreferenceTrainingRequest { TrainingPairs = SyntheticPairs(400, 1), OutputPath = Out("rm-" + head) });
        Assert.Equal(ArtifactKinds.RewardModel, artifact.Kind);

        var model = await RewardModel.LoadAsync(artifact.Path, generator);
        var heldOut = await model.EvaluateAsync(SyntheticPairs(200, 2));
        Assert.True(heldOut.Accuracy > 0.9, $"{head}: held-out pairwise accuracy {heldOut.Accuracy:F3}");
        Assert.True(heldOut.MeanMargin > 0);
    }

    [Fact]
    public async Task SavedAndLoaded_ReproducesValidationAccuracy_AndScores()
    {
        var generator = HashingEmbeddingGenerator.WordsAndBigrams(128, "test/hashing-128");
        var validation = SyntheticPairs(60, 9);
        var artifact = await new RewardModelTrainer(generator, new RewardModelOptions { MaxEpochs = 5, HiddenSize = 16 })
            .TrainAsync(new PreferenceTrainingRequest { TrainingPairs = SyntheticPairs(200, 8), ValidationPairs = validation, OutputPath = Out("rt") });
        var model = await RewardModel.LoadAsync(artifact.Path, generator);
        Assert.Equal(artifact.Report.Metrics["pairwise_accuracy"], (await model.EvaluateAsync(validation)).Accuracy, 12);

        var again = await RewardModel.LoadAsync(artifact.Path, generator);
        Assert.Equal(await model.ScoreAsync("p", ["glad to help", "no"]), await again.ScoreAsync("p", ["glad to help", "no"]));
    }

    [Fact]
    public async Task SameSeed_SameModel()
    {
        var generator = HashingEmbeddingGenerator.WordsAndBigrams(64, "test/hashing-64");
        var pairs = SyntheticPairs(100, 3);
        var options = new RewardModelOptions { MaxEpochs = 3, HiddenSize = 8 };
        await new RewardModelTrainer(generator, options).TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs, OutputPath = Out("a"), Seed = 5 });
        await new RewardModelTrainer(generator, options).TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs, OutputPath = Out("b"), Seed = 5 });
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Out("a"), "head.safetensors")), await File.ReadAllBytesAsync(Path.Combine(Out("b"), "head.safetensors")));
    }

    [Fact]
    public async Task ChosenEqualsRejected_IsRefusedNamingThePair()
    {
        var pairs = SyntheticPairs(20, 4);
        pairs[7] = pairs[7] with { Rejected = pairs[7].Chosen };
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => new RewardModelTrainer(HashingEmbeddingGenerator.WordsAndBigrams())
            .TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs, OutputPath = Out("same") }));
        Assert.Contains("synthetic:8", ex.Message, StringComparison.Ordinal);
        Assert.Contains("same text", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadingWithAnotherEncoder_IsRefused()
    {
        var artifact = await new RewardModelTrainer(HashingEmbeddingGenerator.WordsAndBigrams(64, "test/a"), new RewardModelOptions { MaxEpochs = 1 })
            .TrainAsync(new PreferenceTrainingRequest { TrainingPairs = SyntheticPairs(20, 5), OutputPath = Out("enc") });
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => RewardModel.LoadAsync(artifact.Path, HashingEmbeddingGenerator.WordsAndBigrams(64, "test/b")));
        Assert.Contains("'test/a'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PromptOnlyFeatures_AreRefused()
    {
        var ex = Assert.Throws<InvalidOptionsException>(() => new RewardModelTrainer(HashingEmbeddingGenerator.WordsAndBigrams(), new RewardModelOptions { Features = RewardFeatures.Prompt }));
        Assert.Contains("cannot tell two responses apart", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AsBestOfNScorer_PicksTheResponseTheModelPrefers()
    {
        var generator = HashingEmbeddingGenerator.WordsAndBigrams(256, "test/hashing-256");
        var artifact = await new RewardModelTrainer(generator, new RewardModelOptions { Head = HeadKind.Linear, MaxEpochs = 20 })
            .TrainAsync(new PreferenceTrainingRequest { TrainingPairs = SyntheticPairs(400, 1), OutputPath = Out("bon") });
        var model = await RewardModel.LoadAsync(artifact.Path, generator);
        using var inner = ScriptedChatClient.Sequence("no whatever go away", "glad to help here is a clear answer", "stupid question");
        using var client = new ChatClientBuilder(inner).UseBestOfN(model, o => { o.N = 3; o.MaxConcurrency = 1; }).Build();

        var response = await client.GetResponseAsync("Can you explain this?");
        Assert.Equal("glad to help here is a clear answer", response.Text);
        var scores = Assert.IsType<double[]>(response.AdditionalProperties![BestOfNOptions.ScoresKey]);
        var candidates = Assert.IsType<string[]>(response.AdditionalProperties[BestOfNOptions.CandidatesKey]);
        Assert.Equal(["glad to help here is a clear answer", "no whatever go away", "stupid question"], candidates.Order(StringComparer.Ordinal));
        Assert.Equal(await model.ScoreAsync(DialogueText.Format([new ChatMessage(ChatRole.User, "Can you explain this?")]), candidates), scores);
    }

    [Fact]
    public async Task HhRlhf_ShorterAnswerWins_MoreOftenThanNot()
    {
        var pairs = await PreferenceDataReader.ReadPairsAsync(TestData.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz"), limits: new PreferenceLimits { AllowEmptyResponses = true });
        var last = pairs.Skip(1500).ToArray();
        var shorter = PairwiseMetrics.LengthRule(last, shorterWins: true);
        var longer = PairwiseMetrics.LengthRule(last, shorterWins: false);
        Assert.Equal(300, shorter.Count);
        Assert.Equal(1.0, shorter.Accuracy + longer.Accuracy, 12);
        Assert.True(shorter.Accuracy > 0.5, $"shorter wins {shorter.Accuracy:F3}");
    }
}
