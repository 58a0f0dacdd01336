using LlmAdapt.Formats;
using LlmAdapt.Preference;
using LlmAdapt.Training.Dpo;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Training.Tests.Dpo;

/// <summary>
/// DPO on a tiny GPT-2 (GPT-2's vocabulary, 1 block of width 16) written to disk as a real checkpoint. Sample: the
/// first pairs of HH-RLHF harmless (shared/data/preference/hh-rlhf-harmless/pairs-1800.jsonl.gz), in file order.
/// </summary>
public sealed class DpoTrainerTests
{
    private static readonly Lazy<IReadOnlyList<PreferencePair>> s_pairs = new(() => PreferenceDataReader.ReadPairsAsync(TestData.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz"), PreferenceFormat.Auto, new PreferenceLimits { AllowEmptyResponses = true }).GetAwaiter().GetResult());

    internal static IReadOnlyList<PreferencePair> HhPairs(int count) => s_pairs.Value.Where(p => PreferenceLimits.Default.Check(p) is null).Take(count).ToList();

    internal static DpoOptions Options(int steps, bool resume = false, DpoLossType loss = DpoLossType.Sigmoid, LoraOptions? lora = null, bool full = false) => new()
    {
        Loss = loss,
        Beta = 0.5,
        LabelSmoothing = loss == DpoLossType.Robust ? 0.1 : 0,
        MaxPromptTokens = 12,
        MaxResponseTokens = 12,
        ReferenceBatchSize = 4,
        Training = new DecoderTrainingOptions
        {
            Steps = steps, BatchSize = 2, LearningRate = 2e-2, WarmupSteps = 1, WeightDecay = 0, EvaluationInterval = 3, EvaluationBatches = 10, CheckpointInterval = 100,
            Lora = full ? null : lora ?? new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1 }, Resume = resume, Threads = 2,
        },
    };

    [Fact]
    public async Task ShortRun_LearnsItsTrainingPairs_AndReportsTrlMetrics()
    {
        var baseDir = await TinyCheckpoints.Gpt2Async();
        var pairs = HhPairs(8);
        var output = TestData.TempDirectory();
        var progress = new List<TrainingProgress>();
        var artifact = await new DpoTrainer(Options(24, lora: new LoraOptions { Rank = 4, Alpha = 8 })).TrainAsync(
            new PreferenceTrainingRequest { TrainingPairs = pairs.Take(6).ToList(), ValidationPairs = pairs.Skip(6).ToList(), BaseModel = baseDir, OutputPath = output, Seed = 3 },
            new SyncProgress<TrainingProgress>(progress.Add));

        Assert.Equal(ArtifactKinds.LoraAdapter, artifact.Kind);
        Assert.True(File.Exists(Path.Combine(output, PeftAdapterConfig.WeightsFileName)));
        Assert.True(File.Exists(Path.Combine(output, DpoTrainer.ConfigFileName)));
        var metrics = artifact.Report.Metrics;
        foreach (var name in new[] { "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "loss" })
        {
            Assert.True(metrics.ContainsKey(name), name);
            Assert.True(metrics.ContainsKey("eval_" + name), "eval_" + name);
        }

        Assert.Equal(metrics["eval_rewards/accuracies"], metrics["pairwise_accuracy"]);
        Assert.Equal(1, metrics["reference_without_adapter"]);
        Assert.Equal(24, progress.Count);
        Assert.All(progress, p => Assert.True(p.Metrics!.ContainsKey("rewards/accuracies")));
        Assert.Equal(8, progress.Count(p => p.Metrics!.ContainsKey("eval_rewards/accuracies")));

        // The sigmoid loss starts at log 2 (policy = reference) and falls on the pairs it trains on.
        Assert.Equal(Math.Log(2), progress[0].TrainingLoss, 3);
        var onTraining = await DpoTrainer.EvaluateAsync(output, pairs.Take(6).ToList());
        Assert.Equal(0.5, onTraining.Beta);
        Assert.True(onTraining.Accuracy >= 5.0 / 6, $"rewards/accuracies on the training pairs {onTraining.Accuracy}");
        Assert.True(onTraining.Margin > 0.5, $"margin {onTraining.Margin}");
        Assert.True(onTraining.Loss < Math.Log(2) - 0.2, $"loss {onTraining.Loss}");

        // The base alone against itself: every reward is 0, so no pair is won.
        var before = await DpoTrainer.EvaluateAsync(baseDir, pairs.Take(6).ToList(), reference: baseDir);
        Assert.Equal(0, before.Accuracy);
        Assert.Equal(0, before.Margin, 6);
    }

    [Fact]
    public async Task ReferenceLogProbs_AreComputedOncePerPair_AndAResumedRunIsBitIdentical()
    {
        var baseDir = await TinyCheckpoints.Gpt2Async();
        var pairs = HhPairs(7);
        PreferenceTrainingRequest Request(string from, string output) => new() { TrainingPairs = pairs.Take(5).ToList(), ValidationPairs = pairs.Skip(5).ToList(), BaseModel = from, OutputPath = output, Seed = 5 };

        var straight = TestData.TempDirectory();
        var whole = await new DpoTrainer(Options(6)).TrainAsync(Request(baseDir, straight));
        Assert.Equal(2 * 7, whole.Report.Metrics["reference_sequences_scored"]);

        var interrupted = TestData.TempDirectory();
        var scoring = new List<ReferenceScoringProgress>();
        using var progress = new CancelAtStep(3);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new DpoTrainer(Options(6)).TrainAsync(Request(baseDir, interrupted), progress, new SyncProgress<ReferenceScoringProgress>(scoring.Add), progress.Token));
        Assert.Equal([4, 7], scoring.Select(s => s.Completed));
        Assert.True(File.Exists(Path.Combine(interrupted, ReferenceLogProbs.FileName)));

        // Resumed from the adapter folder: the cached reference is read back, nothing is scored again.
        var resumed = await new DpoTrainer(Options(6, resume: true)).TrainAsync(Request(interrupted, interrupted));
        Assert.Equal(0, resumed.Report.Metrics["reference_sequences_scored"]);
        Assert.Equal([4, 5, 6], resumed.Report.History.Select(h => h.Step));
        Assert.Equal(whole.Report.History[^1].Metrics!["eval_rewards/margins"], resumed.Report.History[^1].Metrics!["eval_rewards/margins"]);
        SafeTensorsAssert.SameTensors(Path.Combine(straight, PeftAdapterConfig.WeightsFileName), Path.Combine(interrupted, PeftAdapterConfig.WeightsFileName));
    }

    [Fact]
    public async Task FullFineTuning_WritesACheckpoint_WithTheStartingWeightsAsReference()
    {
        var baseDir = await TinyCheckpoints.Gpt2Async();
        var pairs = HhPairs(5);
        var output = TestData.TempDirectory();
        var artifact = await new DpoTrainer(Options(4, full: true)).TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs, BaseModel = baseDir, OutputPath = output, Seed = 1 });
        Assert.Equal(ArtifactKinds.Checkpoint, artifact.Kind);
        Assert.Equal(0, artifact.Report.Metrics["reference_without_adapter"]);
        Assert.Equal(4, artifact.Report.Metrics["pairs"]);
        Assert.Equal(1, artifact.Report.Metrics["validation_pairs"]);
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        var evaluation = await DpoTrainer.EvaluateAsync(output, pairs.Take(4).ToList(), reference: baseDir);
        Assert.True(evaluation.Margin > 0, $"margin {evaluation.Margin}");
        await Assert.ThrowsAsync<ArgumentException>(() => DpoTrainer.EvaluateAsync(output, pairs));
    }

    [Fact]
    public async Task LongPairs_AreCutByTheStatedRule_AndCounted()
    {
        var baseDir = await TinyCheckpoints.Gpt2Async();
        var prompt = string.Join(' ', Enumerable.Repeat("word", 40));
        var pair = new PreferencePair { Prompt = prompt, Chosen = " yes", Rejected = string.Join(' ', Enumerable.Repeat(" no", 30)) };
        var session = await DecoderSession.OpenAsync(baseDir, null, 0, CancellationToken.None);
        var options = Options(1);
        var cut = DpoPairs.Tokenize([pair], options, session.Tokenizer, 32);
        var p = cut.Pairs[0];
        var promptIds = session.Tokenizer.Encode(prompt);
        Assert.Equal(promptIds[^12..], p.Prompt);
        Assert.Equal([.. session.Tokenizer.Encode(" yes"), session.Tokenizer.EndOfText], p.Chosen);
        Assert.Equal(session.Tokenizer.Encode(pair.Rejected)[..12], p.Rejected);
        Assert.Equal(1, cut.TruncatedPrompts);
        Assert.Equal(1, cut.TruncatedResponses);
        Assert.Equal(23, cut.SequenceLength);

        // A context shorter than both limits: the prompt gives way first.
        var tight = DpoPairs.Tokenize([pair], options, session.Tokenizer, 16);
        Assert.Equal(12, tight.Pairs[0].Rejected.Length);
        Assert.Equal(5, tight.Pairs[0].Prompt.Length);
        Assert.Equal(16, tight.SequenceLength);
    }

    [Theory]
    [InlineData(" ", " go away", "chosen response is empty")]
    [InlineData(" hello", " hello ", "same text")]
    public async Task BadPairs_AreRejectedBeforeAnyStep_NamingTheirOrigin(string chosen, string rejected, string problem)
    {
        var baseDir = await TinyCheckpoints.Gpt2Async();
        var output = Path.Combine(TestData.TempDirectory(), "out");
        var pairs = HhPairs(3).Append(new PreferencePair { Prompt = "\n\nHuman: hi\n\nAssistant:", Chosen = chosen, Rejected = rejected, Origin = "pairs.jsonl line 4" }).ToList();
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => new DpoTrainer(Options(2)).TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs, BaseModel = baseDir, OutputPath = output }));
        Assert.Contains("pairs.jsonl line 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task ABaseThatIsNotADecoderCheckpoint_IsRejectedBeforeAnythingIsWritten()
    {
        var notDecoder = TestData.TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(notDecoder, "config.json"), """{"model_type": "bert", "vocab_size": 30522, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 32}""");
        var output = Path.Combine(TestData.TempDirectory(), "out");
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => new DpoTrainer(Options(2)).TrainAsync(new PreferenceTrainingRequest { TrainingPairs = HhPairs(4), BaseModel = notDecoder, OutputPath = output }));
        Assert.True(ex.Message.Contains("bert", StringComparison.Ordinal), ex.Message);
        Assert.False(Directory.Exists(output));
        await Assert.ThrowsAsync<ModelLoadException>(() => new DpoTrainer(Options(2)).TrainAsync(new PreferenceTrainingRequest { TrainingPairs = HhPairs(4), BaseModel = Path.Combine(notDecoder, "missing"), OutputPath = output }));
        Assert.False(Directory.Exists(output));
    }

    [Theory]
    [InlineData(0.0, 0.0, "Beta is 0")]
    [InlineData(-1.0, 0.0, "Beta is -1")]
    [InlineData(0.1, 0.5, "LabelSmoothing is 0.5")]
    public void InvalidOptions_AreRejectedWhenTheTrainerIsMade(double beta, double smoothing, string problem)
    {
        var options = Options(2, loss: DpoLossType.Robust);
        options.Beta = beta;
        options.LabelSmoothing = smoothing;
        var ex = Assert.Throws<InvalidOptionsException>(() => new DpoTrainer(options));
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }
}
