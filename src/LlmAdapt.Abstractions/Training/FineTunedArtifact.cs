namespace LlmAdapt.Training;

/// <summary>Describes what a training run wrote.</summary>
public sealed record FineTunedArtifact
{
    /// <summary>Gets the file or folder written.</summary>
    public required string Path { get; init; }

    /// <summary>Gets what kind of artifact it is; see <see cref="ArtifactKinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>Gets the model the artifact was trained from or is bound to (an embedding model or a base checkpoint).</summary>
    public string? BaseModel { get; init; }

    /// <summary>Gets how many parameters were trained.</summary>
    public long TrainableParameters { get; init; }

    /// <summary>Gets the run's summary.</summary>
    public required TrainingReport Report { get; init; }
}
