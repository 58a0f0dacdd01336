using System.Diagnostics;
using LlmAdapt.Training.Optim;

namespace LlmAdapt.Training.Internal;

/// <summary>
/// The mini-batch loop both heads share: shuffle, step AdamW per batch, measure validation loss per epoch, keep the
/// best epoch's weights, stop after <c>patience</c> epochs without improvement.
/// </summary>
internal sealed class EpochLoop
{
    public required HeadNetwork Network { get; init; }

    public required int TrainCount { get; init; }

    /// <summary>The optimiser and stopping settings (a head trainer's options).</summary>
    public required IEpochSettings Settings { get; init; }

    private int BatchSize => Settings.BatchSize;

    private int MaxEpochs => Settings.MaxEpochs;

    private int Patience => Settings.Patience;

    private double LearningRate => Settings.LearningRate;

    private double WeightDecay => Settings.WeightDecay;

    private double MaxGradientNorm => Settings.MaxGradientNorm;

    /// <summary>Multiplies the learning rate after an epoch that does not improve the validation loss (1 = constant).</summary>
    public double PlateauDecay { get; init; } = 1.0;

    /// <summary>Runs forward and backward on the examples order[start..start+count) and returns their mean loss.</summary>
    public required Func<int[], int, int, Random, double> TrainBatch { get; init; }

    /// <summary>Returns the validation loss, or <see langword="null"/> when there is no validation set.</summary>
    public required Func<double?> ValidationLoss { get; init; }

    public (TrainingReport Report, int BestEpoch) Run(Random random, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var optimizer = new AdamW<float>(Network.Trainable, weightDecay: WeightDecay);
        var order = Enumerable.Range(0, TrainCount).ToArray();
        var stepsPerEpoch = (TrainCount + BatchSize - 1) / BatchSize;
        var history = new List<TrainingProgress>();
        var clock = Stopwatch.StartNew();
        var best = double.PositiveInfinity;
        var bestEpoch = 0;
        float[][]? bestWeights = null;
        var sinceBest = 0;
        var step = 0;
        var stoppedEarly = false;
        var lastLoss = double.NaN;
        var learningRate = LearningRate;
        for (var epoch = 1; epoch <= MaxEpochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            random.Shuffle(order);
            double lossSum = 0;
            for (var start = 0; start < TrainCount; start += BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(BatchSize, TrainCount - start);
                Network.ZeroGrad();
                var loss = TrainBatch(order, start, count, random);
                if (!double.IsFinite(loss))
                {
                    throw new LlmAdaptException($"The training loss became {loss} at epoch {epoch}, step {step + 1}; lower the learning rate (now {learningRate}).");
                }

                optimizer.ClipGradients(MaxGradientNorm);
                optimizer.Step(learningRate);
                lossSum += loss * count;
                step++;
            }

            lastLoss = lossSum / TrainCount;
            var validation = ValidationLoss();
            var report = new TrainingProgress
            {
                Step = step,
                TotalSteps = Patience > 0 && validation is not null ? 0 : stepsPerEpoch * MaxEpochs,
                Epoch = epoch,
                TrainingLoss = lastLoss,
                ValidationLoss = validation,
                LearningRate = learningRate,
                ItemsPerSecond = TrainCount / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9),
                Elapsed = clock.Elapsed,
            };
            history.Add(report);
            TrainingMetrics.Record("head", lastLoss, report.ItemsPerSecond, epochClock.Elapsed);
            progress?.Report(report);

            if (validation is { } v)
            {
                if (v < best - 1e-6)
                {
                    best = v;
                    bestEpoch = epoch;
                    bestWeights = Network.Snapshot();
                    sinceBest = 0;
                }
                else
                {
                    learningRate *= PlateauDecay;
                    if (Patience > 0 && ++sinceBest >= Patience)
                    {
                        stoppedEarly = epoch < MaxEpochs;
                        break;
                    }
                }
            }
        }

        if (bestWeights is not null)
        {
            Network.Restore(bestWeights);
        }

        return (new TrainingReport
        {
            Steps = step,
            FinalTrainingLoss = lastLoss,
            BestValidationLoss = double.IsPositiveInfinity(best) ? null : best,
            Duration = clock.Elapsed,
            History = history,
            StoppedEarly = stoppedEarly,
        }, bestEpoch == 0 ? history.Count : bestEpoch);
    }
}

/// <summary>The settings of <see cref="EpochLoop"/> that every head trainer's options carry.</summary>
internal interface IEpochSettings
{
    int BatchSize { get; }

    int MaxEpochs { get; }

    int Patience { get; }

    double LearningRate { get; }

    double WeightDecay { get; }

    double MaxGradientNorm { get; }
}
