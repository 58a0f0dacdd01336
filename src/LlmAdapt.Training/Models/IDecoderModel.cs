using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Models;

/// <summary>What the trainer needs from a decoder: a loss forward, a backward, and the values it may update.</summary>
internal interface IDecoderModel<T>
    where T : unmanaged
{
    int VocabSize { get; }

    int ContextLength { get; }

    /// <summary>Gets or sets whether dropout is active.</summary>
    bool Training { get; set; }

    /// <summary>Gets or sets the most threads this model's kernels use; 0 means every core. Set per model, so two trainers do not interfere.</summary>
    int Threads { get; set; }

    /// <summary>Gets or sets the most bytes this model may keep its frozen weights packed in for the matrix multiply (a LoRA run's base); 0 keeps none.</summary>
    long FrozenPackLimitBytes { get; set; }

    /// <summary>Gets the threads this model's kernels share their work with (its own, following <see cref="Threads"/>); the optimiser's step uses them too.</summary>
    Workers Workers { get; }

    /// <summary>Gets the number of positions whose targets counted in the last forward.</summary>
    int CountedTargets { get; }

    /// <summary>Gets the summed weight of those positions (their count when no weights were given).</summary>
    double TargetWeight { get; }

    /// <summary>Gets the probabilities (B, T, V) of the last forward.</summary>
    PinnedBuffer<T> Probabilities { get; }

    /// <summary>Gets the values the optimiser updates (the adapters only, when LoRA is attached).</summary>
    IReadOnlyList<TrainableSlice<T>> Trainable { get; }

    /// <summary>
    /// Runs the model on inputs (B·T token ids); returns the weighted mean loss over targets ≥ 0 (Σ wᵢ·lossᵢ / Σ wᵢ,
    /// each weight 1 without <paramref name="weights"/>), or NaN without targets.
    /// </summary>
    double Forward(int[] inputs, int[]? targets, int b, int t, float[]? weights = null);

    /// <summary>Adds the gradients of lossScale × the last forward's mean loss.</summary>
    void Backward(double lossScale = 1.0);

    void ZeroGrad();
}
