using LlmAdapt.Training.Internal;
using System.Diagnostics;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Optim;

namespace LlmAdapt.Training.FineTuning;

/// <summary>
/// The training loop shared by every decoder tuner: micro-batches with gradient accumulation, clipping, AdamW on the
/// warm-up + cosine schedule, validation every N steps, checkpoints every M steps, divergence and cancellation
/// handling. Batches for step s are drawn from a generator seeded by (seed, s), so a fixed seed gives the same run,
/// and a resumed run sees the batches the uninterrupted one would have.
/// </summary>
internal sealed class DecoderTrainer
{
    private readonly IDecoderModel<float> _model;
    private readonly DecoderTrainingOptions _options;
    private readonly int _seed;

    public DecoderTrainer(IDecoderModel<float> model, DecoderTrainingOptions options, int seed)
    {
        _model = model;
        _options = options;
        _seed = seed;
        Optimizer = new AdamW<float>(model.Trainable, options.Beta1, options.Beta2, 1e-8, options.WeightDecay);
    }

    public AdamW<float> Optimizer { get; }

    /// <summary>Gets or sets what writes a checkpoint after a step (model or adapter, and optimizer state).</summary>
    public Func<int, CancellationToken, Task>? SaveCheckpoint { get; set; }

    /// <summary>Gets or sets where checkpoints go, for messages.</summary>
    public string CheckpointPath { get; set; } = string.Empty;

    /// <summary>Gets the step of the last checkpoint written, 0 when none.</summary>
    public int LastCheckpointStep { get; private set; }

    /// <summary>Returns the (example-weighted) token mean loss over up to <paramref name="maxBatches"/> batches of <paramref name="source"/>.</summary>
    public double Evaluate(IBatchSource source, int maxBatches) => Evaluate(_model, source, maxBatches);

    /// <summary>
    /// Returns a model's (example-weighted) token mean loss over up to <paramref name="maxBatches"/> batches, in
    /// evaluation mode; needs no trainer, so evaluating allocates no optimizer state.
    /// </summary>
    public static double Evaluate(IDecoderModel<float> model, IBatchSource source, int maxBatches)
    {
        var training = model.Training;
        model.Training = false;
        try
        {
            double sum = 0;
            double count = 0;
            foreach (var (inputs, targets, weights) in source.Sequential(maxBatches))
            {
                var loss = model.Forward(inputs, targets, source.BatchSize, source.SequenceLength, weights);
                if (model.TargetWeight > 0)
                {
                    sum += loss * model.TargetWeight;
                    count += model.TargetWeight;
                }
            }

            return count == 0 ? double.NaN : sum / count;
        }
        finally
        {
            model.Training = training;
        }
    }

    public Task<TrainingReport> RunAsync(IBatchSource train, IBatchSource? validation, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
        => RunAsync(new NextTokenObjective(this, _model, train, validation, _options.EvaluationBatches, _options.GradientAccumulationSteps), progress, cancellationToken);

    /// <summary>Runs the loop on <paramref name="objective"/> from the optimizer's step to <see cref="DecoderTrainingOptions.Steps"/>.</summary>
    public async Task<TrainingReport> RunAsync(ITrainingObjective objective, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        _model.Threads = _options.Threads;
        _model.FrozenPackLimitBytes = (long)_options.FrozenWeightPackMegabytes << 20;
        Optimizer.Workers = _model.Workers;
        var schedule = new LearningRateSchedule(_options.LearningRate, _options.LearningRate * _options.MinLearningRateRatio, _options.WarmupSteps, _options.Steps);
        var history = new List<TrainingProgress>();
        var clock = Stopwatch.StartNew();
        double? best = null;
        double firstLoss = double.NaN, loss = double.NaN;
        var stoppedEarly = false;
        var step = Optimizer.StepCount;
        var tokensPerStep = (double)objective.TokensPerMicroBatch * _options.GradientAccumulationSteps;
        var epochTokens = Math.Max(1, objective.EpochTokens);
        while (step < _options.Steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                stoppedEarly = true;
                if (step > LastCheckpointStep)
                {
                    await Checkpoint(step, CancellationToken.None).ConfigureAwait(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
            }

            step++;
            var stepClock = Stopwatch.StartNew();
            // Not HashCode.Combine: its seed changes per process, and a run must repeat across processes.
            var random = new Random(unchecked((_seed * 1_000_003) + step));

            // LoRA dropout masks too come from (seed, step), so a resumed run draws the masks the uninterrupted one would.
            if (_model is DecoderModel<float> { Lora: { } lora })
            {
                lora.DropoutRandom = new Random(unchecked((_seed * 1_000_003) + step) ^ 0x5EED);
            }
            _model.Training = true;
            _model.ZeroGrad();
            loss = 0;
            for (var micro = 0; micro < _options.GradientAccumulationSteps; micro++)
            {
                if (objective.TrainMicroBatch(step, micro, random, 1.0 / _options.GradientAccumulationSteps) is { } microLoss)
                {
                    loss += microLoss / _options.GradientAccumulationSteps;
                }
            }

            if (double.IsNaN(firstLoss))
            {
                firstLoss = loss;
            }

            var norm = Optimizer.ClipGradients(_options.MaxGradientNorm);
            if (!double.IsFinite(loss) || !double.IsFinite(norm) || loss > _options.DivergenceFactor * firstLoss)
            {
                throw new TrainingDivergedException(step, loss, LastCheckpointStep, CheckpointPath);
            }

            var lr = schedule.At(step);
            Optimizer.Step(lr);
            var metrics = objective.TakeTrainingMetrics();
            double? validationLoss = null;
            if (objective.HasValidation && (step % _options.EvaluationInterval == 0 || step == _options.Steps))
            {
                var training = _model.Training;
                _model.Training = false;
                try
                {
                    validationLoss = objective.Validate(out var validationMetrics);
                    if (validationMetrics is not null)
                    {
                        metrics = new Dictionary<string, double>(metrics ?? new Dictionary<string, double>()).Concat(validationMetrics).ToDictionary();
                    }
                }
                finally
                {
                    _model.Training = training;
                }

                best = best is null ? validationLoss : Math.Min(best.Value, validationLoss.Value);
            }

            if (step % _options.CheckpointInterval == 0 || step == _options.Steps)
            {
                await Checkpoint(step, cancellationToken).ConfigureAwait(false);
            }

            var report = new TrainingProgress
            {
                Step = step,
                TotalSteps = _options.Steps,
                Epoch = 1 + (int)(step * tokensPerStep / epochTokens),
                TrainingLoss = loss,
                ValidationLoss = validationLoss,
                LearningRate = lr,
                ItemsPerSecond = tokensPerStep / Math.Max(1e-9, stepClock.Elapsed.TotalSeconds),
                Elapsed = clock.Elapsed,
                Metrics = metrics,
            };
            history.Add(report);
            TrainingMetrics.Record("decoder", loss, report.ItemsPerSecond, stepClock.Elapsed);
            progress?.Report(report);
        }

        return new TrainingReport
        {
            Steps = step,
            FinalTrainingLoss = loss,
            BestValidationLoss = best,
            Duration = clock.Elapsed,
            History = history,
            StoppedEarly = stoppedEarly,
            Metrics = new Dictionary<string, double>
            {
                ["tokens_per_second"] = history.Count == 0 ? 0 : history.Count * tokensPerStep / Math.Max(1e-9, clock.Elapsed.TotalSeconds),
            },
        };
    }

    private async Task Checkpoint(int step, CancellationToken cancellationToken)
    {
        if (SaveCheckpoint is not null)
        {
            await SaveCheckpoint(step, cancellationToken).ConfigureAwait(false);
            LastCheckpointStep = step;
        }
    }
}

/// <summary>What the loop optimises: micro-batch losses with their backward, and a validation measure.</summary>
internal interface ITrainingObjective
{
    /// <summary>Gets the tokens one micro-batch processes, for throughput.</summary>
    long TokensPerMicroBatch { get; }

    /// <summary>Gets the tokens one pass over the training data would see.</summary>
    long EpochTokens { get; }

    /// <summary>Gets whether <see cref="Validate"/> has data to measure.</summary>
    bool HasValidation { get; }

    /// <summary>
    /// Runs forward and backward (gradients of <paramref name="lossScale"/> × the loss) on micro-batch
    /// <paramref name="micro"/> of <paramref name="step"/>; returns the loss, or null when the batch had nothing to learn.
    /// </summary>
    double? TrainMicroBatch(int step, int micro, Random random, double lossScale);

    /// <summary>Returns the named metrics of the training micro-batches since the last call, or null.</summary>
    IReadOnlyDictionary<string, double>? TakeTrainingMetrics();

    /// <summary>Returns the validation loss (the model is in evaluation mode), with named metrics or null.</summary>
    double Validate(out IReadOnlyDictionary<string, double>? metrics);
}

/// <summary>Next-token cross-entropy on batches (pre-training, instruction tuning).</summary>
internal sealed class NextTokenObjective(DecoderTrainer trainer, IDecoderModel<float> model, IBatchSource train, IBatchSource? validation, int evaluationBatches, int accumulation) : ITrainingObjective
{
    public long TokensPerMicroBatch => (long)train.BatchSize * train.SequenceLength;

    public long EpochTokens => train.TokenCount;

    public bool HasValidation => validation is not null;

    public double? TrainMicroBatch(int step, int micro, Random random, double lossScale)
    {
        var (inputs, targets, weights) = train.Next(random, (((long)step - 1) * accumulation) + micro);
        var loss = model.Forward(inputs, targets, train.BatchSize, train.SequenceLength, weights);
        if (double.IsNaN(loss) && model.CountedTargets == 0)
        {
            return null;
        }

        model.Backward(lossScale);
        return loss;
    }

    public IReadOnlyDictionary<string, double>? TakeTrainingMetrics() => null;

    public double Validate(out IReadOnlyDictionary<string, double>? metrics)
    {
        metrics = null;
        return trainer.Evaluate(validation!, evaluationBatches);
    }
}

