using LlmAdapt.Training.Models;
using LlmAdapt.Formats;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Tests.Models;

namespace LlmAdapt.Training.Tests.FineTuning;

public sealed class DecoderTrainerTests
{
    private static int[] PatternTokens(int n) => Enumerable.Range(0, n).Select(i => (i * 7 % 11) + (i % 3)).ToArray();

    private static DecoderTrainingOptions Options(int steps) => new()
    {
        Steps = steps,
        BatchSize = 2,
        SequenceLength = 8,
        WarmupSteps = 2,
        LearningRate = 1e-2,
        EvaluationInterval = 2,
        EvaluationBatches = 2,
        CheckpointInterval = 1,
        Threads = 2,
    };

    private static async Task<(Gpt2Model<float> Model, TrainingReport Report)> Train(int seed, int steps = 6, string? output = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default, int threads = 2)
    {
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(seed);
        var options = Options(steps);
        options.Threads = threads;
        var trainer = new DecoderTrainer(model, options, seed) { CheckpointPath = output ?? string.Empty };
        if (output is not null)
        {
            trainer.SaveCheckpoint = async (step, ct) =>
            {
                await DecoderCheckpoint.SaveAsync(model, output, ct);
                var writer = new SafeTensorsWriter();
                trainer.Optimizer.Save(writer);
                await writer.WriteAsync(Path.Combine(output, "optimizer.safetensors"), ct);
            };
        }

        var tokens = PatternTokens(400);
        var report = await trainer.RunAsync(new TokenBlockSource(tokens, 2, 8, "pattern"), new TokenBlockSource(tokens[300..], 2, 8, "pattern"), progress, cancellationToken);
        return (model, report);
    }

    [Fact]
    public async Task SameSeed_GivesABitIdenticalRun_AndAnotherSeedDoesNot()
    {
        var (a, reportA) = await Train(seed: 3);
        var (b, reportB) = await Train(seed: 3);
        var (c, _) = await Train(seed: 4);
        Assert.Equal(a.Parameters.Span.ToArray(), b.Parameters.Span.ToArray());
        Assert.Equal(reportA.History.Select(h => h.TrainingLoss), reportB.History.Select(h => h.TrainingLoss));
        Assert.NotEqual(a.Parameters.Span.ToArray(), c.Parameters.Span.ToArray());
    }

    [Fact]
    public async Task TwoTrainers_InOneProcess_KeepTheirOwnThreadCounts_AndTheResultsOfRunningAlone()
    {
        var (aloneOne, _) = await Train(seed: 7, threads: 1);
        var (aloneTwo, _) = await Train(seed: 8, threads: 2);
        var together = await Task.WhenAll(Task.Run(() => Train(seed: 7, threads: 1)), Task.Run(() => Train(seed: 8, threads: 2)));
        Assert.Equal(1, together[0].Model.Threads);
        Assert.Equal(2, together[1].Model.Threads);
        Assert.Equal(aloneOne.Parameters.Span.ToArray(), together[0].Model.Parameters.Span.ToArray());
        Assert.Equal(aloneTwo.Parameters.Span.ToArray(), together[1].Model.Parameters.Span.ToArray());
    }

    [Fact]
    public async Task FrozenWeightPackMegabytes_BoundsThePackedBase_AndLeavesTheAdaptersBitIdentical()
    {
        // 2 × 16 = 32 rows a step, enough for the frozen products to read packed weights.
        async Task<(float[] Adapters, long PackedBytes)> Tune(int megabytes)
        {
            var model = new Gpt2Model<float>(new Gpt2Config { Layers = 1, Heads = 2, Channels = 16, ContextLength = 16 });
            model.InitializeRandom(5);
            model.AttachLora(new LoraOptions { Rank = 2, Alpha = 4 }, seed: 6);
            var options = Options(4);
            (options.SequenceLength, options.FrozenWeightPackMegabytes) = (16, megabytes);
            var tokens = PatternTokens(400);
            await new DecoderTrainer(model, options, seed: 5).RunAsync(new TokenBlockSource(tokens, 2, 16, "pattern"), new TokenBlockSource(tokens[300..], 2, 16, "pattern"), null, CancellationToken.None);
            return (model.Lora!.Parameters.Span.ToArray(), model.FrozenPackBytes);
        }

        var packed = await Tune(2048);
        var plain = await Tune(0);
        Assert.True(packed.PackedBytes > 0, "the default packed nothing");
        Assert.Equal(0, plain.PackedBytes);
        Assert.Equal(packed.Adapters, plain.Adapters);
    }

    [Fact]
    public async Task Run_ReportsEveryStep_WithValidationOnTheInterval_AndLowersTheLoss()
    {
        var (_, report) = await Train(seed: 5, steps: 30);
        Assert.Equal(30, report.History.Count);
        Assert.Equal(Enumerable.Range(1, 30), report.History.Select(h => h.Step));
        Assert.All(report.History, h => Assert.Equal(h.Step % 2 == 0, h.ValidationLoss is not null));
        Assert.True(report.History[^1].ValidationLoss < report.History[1].ValidationLoss - 0.3, $"validation {report.History[1].ValidationLoss} -> {report.History[^1].ValidationLoss}");
    }

    [Fact]
    public async Task Run_RecordsLossThroughputAndStepTime_OnTheLlmAdaptMeter()
    {
        var losses = new System.Collections.Concurrent.ConcurrentBag<double>();
        var steps = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LlmAdapt.Diagnostics.LlmAdaptTelemetry.SourceName && instrument.Name.StartsWith("llmadapt.training.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "llmadapt.training.loss")
            {
                losses.Add(value);
            }
            else if (instrument.Name == "llmadapt.training.step.duration" && value > 0)
            {
                Interlocked.Increment(ref steps);
            }
        });
        listener.Start();

        var (_, report) = await Train(seed: 12, steps: 4);

        // Other tests may train at the same time: this run's losses are among the measurements.
        Assert.All(report.History, h => Assert.Contains(h.TrainingLoss, losses));
        Assert.True(steps >= 4, $"{steps} step times");
    }

    [Fact]
    public async Task NaNLoss_StopsWithTrainingDivergedException_AndKeepsTheLastGoodCheckpoint()
    {
        var output = TestData.TempDirectory();
        Gpt2Model<float>? captured = null;
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(6);
        captured = model;
        var options = Options(10);
        var trainer = new DecoderTrainer(model, options, 6) { CheckpointPath = output };
        trainer.SaveCheckpoint = (step, ct) => DecoderCheckpoint.SaveAsync(model, output, ct);

        // After step 3 a weight is corrupted, so step 4's loss is NaN.
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Step == 3)
            {
                captured.Values("transformer.ln_f.weight")[0] = float.NaN;
            }
        });
        var tokens = PatternTokens(300);
        var ex = await Assert.ThrowsAsync<TrainingDivergedException>(() => trainer.RunAsync(new TokenBlockSource(tokens, 2, 8, "pattern"), null, progress, CancellationToken.None));
        Assert.Equal(4, ex.Step);
        Assert.Equal(3, ex.LastCheckpointStep);
        Assert.Contains(output, ex.Message, StringComparison.Ordinal);
        var kept = (Gpt2Model<float>)await DecoderCheckpoint.LoadAsync(output, CancellationToken.None);
        Assert.All(kept.Parameters.Span.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public async Task Cancellation_LeavesACheckpointWithOptimizerState()
    {
        var output = TestData.TempDirectory();
        using var progress = new CancelAtStep(2);
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(7);
        var options = Options(10);
        options.CheckpointInterval = 100;
        var trainer = new DecoderTrainer(model, options, 7) { CheckpointPath = output };
        trainer.SaveCheckpoint = async (step, ct) =>
        {
            await DecoderCheckpoint.SaveAsync(model, output, ct);
            var writer = new SafeTensorsWriter();
            trainer.Optimizer.Save(writer);
            await writer.WriteAsync(Path.Combine(output, "optimizer.safetensors"), ct);
        };
        var tokens = PatternTokens(300);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => trainer.RunAsync(new TokenBlockSource(tokens, 2, 8, "pattern"), null, progress, progress.Token));
        Assert.Equal(2, trainer.LastCheckpointStep);
        using var state = SafeTensorsReader.Open(Path.Combine(output, "optimizer.safetensors"));
        Assert.Equal("2", state.Metadata["step"]);
        var loaded = (Gpt2Model<float>)await DecoderCheckpoint.LoadAsync(output, CancellationToken.None);
        Assert.Equal(model.Parameters.Span.ToArray(), loaded.Parameters.Span.ToArray());
    }

    [Fact]
    public async Task ResumingFromACheckpoint_GivesTheSameWeightsAsAnUninterruptedRun()
    {
        var (straight, _) = await Train(seed: 8, steps: 6);

        var output = TestData.TempDirectory();
        using var progress = new CancelAtStep(3);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Train(seed: 8, steps: 6, output, progress, progress.Token));

        var model = (Gpt2Model<float>)await DecoderCheckpoint.LoadAsync(output, CancellationToken.None);
        var trainer = new DecoderTrainer(model, Options(6), 8);
        using (var state = SafeTensorsReader.Open(Path.Combine(output, "optimizer.safetensors")))
        {
            trainer.Optimizer.Load(state);
        }

        var tokens = PatternTokens(400);
        var report = await trainer.RunAsync(new TokenBlockSource(tokens, 2, 8, "pattern"), new TokenBlockSource(tokens[300..], 2, 8, "pattern"), null, CancellationToken.None);
        Assert.Equal([4, 5, 6], report.History.Select(h => h.Step));
        Assert.Equal(straight.Parameters.Span.ToArray(), model.Parameters.Span.ToArray());
    }

    [Fact]
    public async Task ResumingALoraRun_GivesTheSameAdapterAsAnUninterruptedRun()
    {
        // A tiny GPT-2 base (GPT-2's vocabulary, so the base folder needs no tokenizer files); LoRA with dropout, whose
        // masks are drawn per step, so the resumed half sees the masks the uninterrupted run saw.
        var baseDir = await TinyCheckpoints.Gpt2Async(contextLength: 16);

        // Sample: the first 3,000 characters of tinyshakespeare.
        var text = (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..3000];
        DecoderTrainingOptions TuneOptions(bool resume) => new()
        {
            Steps = 6, BatchSize = 2, SequenceLength = 16, WarmupSteps = 2, LearningRate = 1e-2, EvaluationInterval = 3, EvaluationBatches = 1, CheckpointInterval = 100,
            Lora = new LoraOptions { Rank = 2, Alpha = 4, Dropout = 0.1 }, Resume = resume,
        };
        FineTuningRequest Request(string? from, string output) => new() { TrainingSet = [new TrainingExample { Input = text }], BaseModel = from, OutputPath = output, Seed = 3 };

        var straight = TestData.TempDirectory();
        await new ContinuedPretrainingFineTuner(TuneOptions(false)).FineTuneAsync(Request(baseDir, straight));

        var interrupted = TestData.TempDirectory();
        using var progress = new CancelAtStep(3);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ContinuedPretrainingFineTuner(TuneOptions(false)).FineTuneAsync(Request(baseDir, interrupted), progress, progress.Token));
        using (var state = SafeTensorsReader.Open(Path.Combine(interrupted, "optimizer.safetensors")))
        {
            Assert.Equal("3", state.Metadata["step"]);
        }

        // Resume from the adapter folder itself: its base, its adapters, its optimizer state, and on to step 6.
        var resumed = await new ContinuedPretrainingFineTuner(TuneOptions(true)).FineTuneAsync(Request(interrupted, interrupted));
        Assert.Equal([4, 5, 6], resumed.Report.History.Select(h => h.Step));
        Assert.Equal(ArtifactKinds.LoraAdapter, resumed.Kind);
        SafeTensorsAssert.SameTensors(Path.Combine(straight, PeftAdapterConfig.WeightsFileName), Path.Combine(interrupted, PeftAdapterConfig.WeightsFileName));
    }

    [Fact]
    public void TooShortCorpus_IsRejectedWithTheNumbers()
    {
        var ex = Assert.Throws<InvalidDataFileException>(() => new TokenBlockSource(new int[5], 2, 8, "notes.txt"));
        Assert.Contains("notes.txt", ex.Message, StringComparison.Ordinal);
        Assert.Contains("5 tokens", ex.Message, StringComparison.Ordinal);
        Assert.Contains("at least 9", ex.Message, StringComparison.Ordinal);
    }
}
