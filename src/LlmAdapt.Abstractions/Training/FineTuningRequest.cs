namespace LlmAdapt.Training;

/// <summary>What an <see cref="IFineTuner"/> is asked to train.</summary>
public sealed record FineTuningRequest
{
    /// <summary>Gets the training examples.</summary>
    public required IReadOnlyList<TrainingExample> TrainingSet { get; init; }

    /// <summary>Gets held-out examples for validation loss and early stopping, or <see langword="null"/> to split the training set.</summary>
    public IReadOnlyList<TrainingExample>? ValidationSet { get; init; }

    /// <summary>Gets the folder or file the result is written to (atomically).</summary>
    public required string OutputPath { get; init; }

    /// <summary>Gets the base model (a folder or a model identifier) to start from, when the tuner needs one.</summary>
    public string? BaseModel { get; init; }

    /// <summary>Gets the random seed; the same seed and data give the same result.</summary>
    public int Seed { get; init; } = 42;
}
