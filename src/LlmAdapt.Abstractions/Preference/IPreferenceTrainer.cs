using LlmAdapt.Training;

namespace LlmAdapt.Preference;

/// <summary>Learns from people's preferences: a reward model, or a policy tuned directly (DPO).</summary>
public interface IPreferenceTrainer
{
    /// <summary>Gets the name the trainer is registered under.</summary>
    string Name { get; }

    /// <summary>Trains on <paramref name="request"/> and writes the result.</summary>
    /// <param name="request">The pairs and output path.</param>
    /// <param name="progress">Receives a report after every step or epoch, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops training.</param>
    /// <returns>What was written; its report carries <c>pairwise_accuracy</c> on the validation pairs.</returns>
    Task<FineTunedArtifact> TrainAsync(PreferenceTrainingRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);
}
