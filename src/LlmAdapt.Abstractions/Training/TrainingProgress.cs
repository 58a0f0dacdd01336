namespace LlmAdapt.Training;

/// <summary>A progress report from a training run, sent through <see cref="IProgress{T}"/>.</summary>
public sealed record TrainingProgress
{
    /// <summary>Gets the optimiser step just completed, from 1.</summary>
    public int Step { get; init; }

    /// <summary>Gets the planned number of steps, or 0 when unknown (for example with early stopping).</summary>
    public int TotalSteps { get; init; }

    /// <summary>Gets the epoch, from 1.</summary>
    public int Epoch { get; init; }

    /// <summary>Gets the training loss of the step.</summary>
    public double TrainingLoss { get; init; }

    /// <summary>Gets the validation loss, on steps where it was measured.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Gets the learning rate used for the step.</summary>
    public double LearningRate { get; init; }

    /// <summary>Gets the throughput of the step in tokens (or examples, for heads) per second.</summary>
    public double ItemsPerSecond { get; init; }

    /// <summary>Gets the time since training started.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>
    /// Gets named metrics of the step, when the trainer logs more than a loss (DPO: <c>rewards/accuracies</c>,
    /// <c>rewards/margins</c>, …; validation ones prefixed <c>eval_</c>), or <see langword="null"/>.
    /// </summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
}
