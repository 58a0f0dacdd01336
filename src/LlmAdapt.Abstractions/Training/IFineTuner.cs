namespace LlmAdapt.Training;

/// <summary>Adapts a model to an organisation's data: continued pre-training, instruction tuning, LoRA or a task head.</summary>
public interface IFineTuner
{
    /// <summary>Gets the name the tuner is registered under.</summary>
    string Name { get; }

    /// <summary>Trains on <paramref name="request"/> and writes the result.</summary>
    /// <param name="request">The data, base model and output path.</param>
    /// <param name="progress">Receives a report after every step (or epoch, for heads), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops training; trainers that checkpoint leave the last good checkpoint.</param>
    /// <returns>What was written.</returns>
    Task<FineTunedArtifact> FineTuneAsync(FineTuningRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);
}
