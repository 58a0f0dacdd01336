using LlmAdapt.Training.Heads;

namespace LlmAdapt.Training.Tests.Heads;

public sealed class TaskHeadTrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-heads-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    /// <summary>SST-2: 3,000 training phrases sampled with seed 7 from train.tsv, 500 dev sentences (seed 7), all 872 test sentences.</summary>
    internal static async Task<(IReadOnlyList<TrainingExample> Train, IReadOnlyList<TrainingExample> Dev, IReadOnlyList<TrainingExample> Test)> Sst2SampleAsync(int train = 3000, int dev = 500)
    {
        var trainAll = (await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/train.tsv"), "sentence", "label")).ToArray();
        var devAll = (await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/dev.tsv"), "sentence", "label")).ToArray();
        var test = await LabelledTextReader.ReadAsync(TestData.PathOf("classification/sst2/test.tsv"), "sentence", "label");
        new Random(7).Shuffle(trainAll);
        new Random(7).Shuffle(devAll);
        return (trainAll[..train], devAll[..dev], test);
    }

    private static List<TrainingExample> Synthetic(int perClass, params string[] labels)
        => labels.SelectMany(l => Enumerable.Range(0, perClass).Select(i => new TrainingExample { Input = $"{l} {i}", Label = l })).ToList();

    /// <summary>
    /// Hashed words and bigrams (4,096 buckets) on 10,000 sampled training phrases: a weak encoder, so the floor is modest
    /// (the majority class of test.tsv is 0.509); the real-encoder numbers are in <c>MiniLmHeadTests</c> and the CLI's eval.
    /// </summary>
    [Fact]
    public async Task Sst2Sample_HashedFeatures_LearnsSentiment()
    {
        const HeadKind head = HeadKind.Linear;
        const double floor = 0.62;
        var (train, dev, test) = await Sst2SampleAsync(train: 10_000);
        var generator = HashingEmbeddingGenerator.WordsAndBigrams(4096, "test/hashing-4096");
        var trainer = new TaskHeadTrainer(generator, new TaskHeadOptions { Head = head, MaxEpochs = 15 });
        var artifact = await trainer.FineTuneAsync(new FineTuningRequest { TrainingSet = train, ValidationSet = dev, OutputPath = Out("sst2-" + head) });

        var classifier = await TextClassifier.LoadAsync(artifact.Path, generator);
        var metrics = await classifier.EvaluateAsync(test);
        Assert.True(metrics.Accuracy >= floor, $"{head} test accuracy {metrics.Accuracy:F3} < {floor}");
        Assert.Equal(872, metrics.ConfusionMatrix.Sum(r => r.Sum()));
        Assert.Equal(new[] { "0", "1" }, classifier.Labels);
        Assert.Equal(ArtifactKinds.Classifier, artifact.Kind);
        Assert.Equal("test/hashing-4096", artifact.BaseModel);
    }

    [Fact]
    public async Task BaseModel_OtherThanTheEncoder_IsRefusedBeforeAnythingIsWritten_TheEncoderItselfIsAccepted()
    {
        var data = Synthetic(20, "a", "b");
        var generator = HashingEmbeddingGenerator.WordsAndBigrams(64, "test/hashing-64");
        var trainer = new TaskHeadTrainer(generator, new TaskHeadOptions { MaxEpochs = 2 });

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => trainer.FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("other"), BaseModel = "gpt2" }));
        Assert.Contains("'gpt2'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'test/hashing-64'", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Out("other")));

        var artifact = await trainer.FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("same"), BaseModel = "test/hashing-64" });
        Assert.Equal("test/hashing-64", artifact.BaseModel);
    }

    [Fact]
    public async Task SameSeed_SameWeights_DifferentSeed_DifferentWeights()
    {
        var data = Synthetic(60, "a", "b", "c");
        var generator = new SyntheticEmbeddingGenerator();
        var options = new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 32, MaxEpochs = 5 };
        await new TaskHeadTrainer(generator, options).FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("s1"), Seed = 3 });
        await new TaskHeadTrainer(generator, options).FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("s2"), Seed = 3 });
        await new TaskHeadTrainer(generator, options).FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("s3"), Seed = 4 });
        var w1 = await File.ReadAllBytesAsync(Path.Combine(Out("s1"), "head.safetensors"));
        Assert.Equal(w1, await File.ReadAllBytesAsync(Path.Combine(Out("s2"), "head.safetensors")));
        Assert.NotEqual(w1, await File.ReadAllBytesAsync(Path.Combine(Out("s3"), "head.safetensors")));
    }

    [Fact]
    public async Task SavedAndLoaded_GivesTheTrainingRunsValidationMetrics_AndStableProbabilities()
    {
        var generator = new SyntheticEmbeddingGenerator(noise: 1.5);
        var validation = Synthetic(40, "x", "y", "z").Select(e => e with { Input = e.Input + " v" }).ToList();
        var artifact = await new TaskHeadTrainer(generator).FineTuneAsync(new FineTuningRequest { TrainingSet = Synthetic(80, "x", "y", "z"), ValidationSet = validation, OutputPath = Out("rt") });

        var loaded = await TextClassifier.LoadAsync(artifact.Path, generator);
        var metrics = await loaded.EvaluateAsync(validation);
        Assert.Equal(artifact.Report.Metrics["accuracy"], metrics.Accuracy, 12);
        Assert.Equal(artifact.Report.Metrics["macro_f1"], metrics.MacroF1, 12);

        var again = await TextClassifier.LoadAsync(artifact.Path, generator);
        var a = await loaded.ClassifyAsync("y 5 v");
        var b = await again.ClassifyAsync("y 5 v");
        Assert.Equal(a.Probabilities, b.Probabilities);
        Assert.Equal(1.0, a.Probabilities.Values.Sum(), 6);
        Assert.Equal(a.Label, a.Probabilities.MaxBy(p => p.Value).Key);
    }

    [Fact]
    public async Task Mlp_SolvesXor_WhereTheLinearHeadCannot()
    {
        var random = new Random(11);
        var data = Enumerable.Range(0, 600).Select(_ =>
        {
            var a = (random.NextDouble() * 2) - 1;
            var b = (random.NextDouble() * 2) - 1;
            return new TrainingExample { Input = FormattableString.Invariant($"xor {a:F4} {b:F4}"), Label = a * b > 0 ? "same" : "diff" };
        }).ToList();
        var generator = new SyntheticEmbeddingGenerator(dimensions: 4, noise: 0.05);
        var linear = await new TaskHeadTrainer(generator, new TaskHeadOptions { Head = HeadKind.Linear, MaxEpochs = 40, LearningRate = 0.01 })
            .FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("xor-linear") });
        var mlp = await new TaskHeadTrainer(generator, new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 32, MaxEpochs = 80, LearningRate = 0.01, Dropout = 0 })
            .FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("xor-mlp") });
        Assert.True(linear.Report.Metrics["accuracy"] < 0.7, $"linear {linear.Report.Metrics["accuracy"]:F3}");
        Assert.True(mlp.Report.Metrics["accuracy"] > 0.9, $"mlp {mlp.Report.Metrics["accuracy"]:F3}");
    }

    [Fact]
    public async Task BalancedClassWeights_RaiseRecallOfTheRareClass()
    {
        var data = Synthetic(380, "common").Concat(Synthetic(20, "rare")).ToList();
        var test = Enumerable.Range(1000, 200).SelectMany(i => new[] { new TrainingExample { Input = $"common {i}", Label = "common" }, new TrainingExample { Input = $"rare {i}", Label = "rare" } }).ToList();
        var generator = new SyntheticEmbeddingGenerator(dimensions: 8, noise: 2.5);
        async Task<double> RareRecall(ClassWeighting weighting, string name)
        {
            var artifact = await new TaskHeadTrainer(generator, new TaskHeadOptions { ClassWeighting = weighting, MaxEpochs = 20, Patience = 0 })
                .FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out(name) });
            var metrics = await (await TextClassifier.LoadAsync(artifact.Path, generator)).EvaluateAsync(test);
            var rare = metrics.Labels.ToList().IndexOf("rare");
            return (double)metrics.ConfusionMatrix[rare][rare] / metrics.ConfusionMatrix[rare].Sum();
        }

        var none = await RareRecall(ClassWeighting.None, "cw-none");
        var balanced = await RareRecall(ClassWeighting.Balanced, "cw-balanced");
        Assert.True(balanced > none + 0.05, $"rare recall: balanced {balanced:F3}, none {none:F3}");
    }

    [Fact]
    public async Task EarlyStopping_StopsAndKeepsTheBestEpoch()
    {
        var generator = new SyntheticEmbeddingGenerator(dimensions: 64, noise: 8);
        var progress = new List<TrainingProgress>();
        var artifact = await new TaskHeadTrainer(generator, new TaskHeadOptions { Head = HeadKind.Mlp, MaxEpochs = 200, Patience = 2, LearningRate = 0.01, Dropout = 0 })
            .FineTuneAsync(new FineTuningRequest { TrainingSet = Synthetic(60, "p", "q"), OutputPath = Out("es") }, new Progress<TrainingProgress>(progress.Add));
        Assert.True(artifact.Report.StoppedEarly);
        Assert.True(artifact.Report.History.Count < 200);
        var best = artifact.Report.History.Min(h => h.ValidationLoss!.Value);
        Assert.Equal(best, artifact.Report.BestValidationLoss!.Value, 12);
    }

    [Fact]
    public async Task OneClassOnly_IsRefused()
    {
        var ex = await Assert.ThrowsAsync<LlmAdaptException>(() => new TaskHeadTrainer(new SyntheticEmbeddingGenerator())
            .FineTuneAsync(new FineTuningRequest { TrainingSet = Synthetic(10, "only"), OutputPath = Out("one") }));
        Assert.Contains("one class only ('only', 10 examples)", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Out("one")));
    }

    [Fact]
    public async Task UnseenLabelAtEvaluation_IsRefusedNamingIt()
    {
        var generator = new SyntheticEmbeddingGenerator();
        var artifact = await new TaskHeadTrainer(generator, new TaskHeadOptions { MaxEpochs = 2 }).FineTuneAsync(new FineTuningRequest { TrainingSet = Synthetic(10, "a", "b"), OutputPath = Out("unseen") });
        var classifier = await TextClassifier.LoadAsync(artifact.Path, generator);
        var ex = await Assert.ThrowsAsync<LlmAdaptException>(() => classifier.EvaluateAsync([new TrainingExample { Input = "c 1", Label = "c", Origin = "test.tsv:9" }]));
        Assert.Contains("'c'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("test.tsv:9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("a, b", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NaNFeatures_AreRefusedNamingTheExample()
    {
        var generator = new SyntheticEmbeddingGenerator { Override = t => t == "b 3" ? [1, float.NaN, .. new float[14]] : null };
        var data = Synthetic(10, "a", "b").Select((e, i) => e with { Origin = $"train.tsv:{i + 2}" }).ToList();
        var ex = await Assert.ThrowsAsync<LlmAdaptException>(() => new TaskHeadTrainer(generator).FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = Out("nan") }));
        Assert.Contains("NaN at component 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("train.tsv:15", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadingWithAnotherEmbeddingModel_IsRefused()
    {
        var artifact = await new TaskHeadTrainer(new SyntheticEmbeddingGenerator(), new TaskHeadOptions { MaxEpochs = 2 })
            .FineTuneAsync(new FineTuningRequest { TrainingSet = Synthetic(10, "a", "b"), OutputPath = Out("bound") });
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => TextClassifier.LoadAsync(artifact.Path, HashingEmbeddingGenerator.WordsAndBigrams()));
        Assert.Contains("'test/synthetic'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'test/hashing-512'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangedWeights_FailTheChecksum()
    {
        var generator = new SyntheticEmbeddingGenerator();
        var artifact = await new TaskHeadTrainer(generator, new TaskHeadOptions { MaxEpochs = 2 }).FineTuneAsync(new FineTuningRequest { TrainingSet = Synthetic(10, "a", "b"), OutputPath = Out("tamper") });
        var weights = Path.Combine(artifact.Path, "head.safetensors");
        var bytes = await File.ReadAllBytesAsync(weights);
        bytes[^1] ^= 0x40;
        await File.WriteAllBytesAsync(weights, bytes);
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => TextClassifier.LoadAsync(artifact.Path, generator));
        Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OutOfRangeOptions_AreListed()
    {
        var ex = Assert.Throws<InvalidOptionsException>(() => new TaskHeadTrainer(new SyntheticEmbeddingGenerator(), new TaskHeadOptions { LearningRate = 0, BatchSize = 0 }));
        Assert.Contains(nameof(TaskHeadOptions.LearningRate), ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(TaskHeadOptions.BatchSize), ex.Message, StringComparison.Ordinal);
    }
}
