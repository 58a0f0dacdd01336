namespace LlmAdapt.Preference;

/// <summary>What an <see cref="IPreferenceTrainer"/> is asked to learn.</summary>
public sealed record PreferenceTrainingRequest
{
    /// <summary>Gets the training pairs.</summary>
    public required IReadOnlyList<PreferencePair> TrainingPairs { get; init; }

    /// <summary>Gets held-out pairs for pairwise accuracy and early stopping, or <see langword="null"/> to split the training pairs.</summary>
    public IReadOnlyList<PreferencePair>? ValidationPairs { get; init; }

    /// <summary>Gets the folder or file the result is written to (atomically).</summary>
    public required string OutputPath { get; init; }

    /// <summary>Gets the base or reference model, when the trainer needs one (DPO).</summary>
    public string? BaseModel { get; init; }

    /// <summary>Gets the random seed; the same seed and data give the same result.</summary>
    public int Seed { get; init; } = 42;
}
