namespace LlmAdapt.Training;

/// <summary>The summary of a finished training run.</summary>
public sealed record TrainingReport
{
    /// <summary>Gets how many optimiser steps ran.</summary>
    public int Steps { get; init; }

    /// <summary>Gets the last training loss.</summary>
    public double FinalTrainingLoss { get; init; }

    /// <summary>Gets the best validation loss seen, when validation ran.</summary>
    public double? BestValidationLoss { get; init; }

    /// <summary>Gets the wall-clock duration of the run.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Gets named evaluation metrics (for example <c>accuracy</c>, <c>macro_f1</c>, <c>pairwise_accuracy</c>).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Gets the progress reports of the run, in order; the loss curve.</summary>
    public IReadOnlyList<TrainingProgress> History { get; init; } = [];

    /// <summary>Gets whether the run stopped early (early stopping or cancellation) rather than finishing its schedule.</summary>
    public bool StoppedEarly { get; init; }
}
