namespace LlmAdapt.Training.Data;

/// <summary>
/// Batches of (inputs, targets, weights), each B × T; a negative target is ignored by the loss, and weights (null: all
/// 1) scale each position's loss (<see cref="TrainingExample.Weight"/>).
/// </summary>
internal interface IBatchSource
{
    int BatchSize { get; }

    int SequenceLength { get; }

    /// <summary>Gets the tokens one pass over the data would see.</summary>
    long TokenCount { get; }

    /// <summary>
    /// Draws training micro-batch <paramref name="batch"/> of the run (0-based: (step − 1) · accumulation + micro) with
    /// <paramref name="random"/>, which the trainer seeds from (seed, step); a resumed run draws the same batches.
    /// </summary>
    (int[] Inputs, int[] Targets, float[]? Weights) Next(Random random, long batch);

    /// <summary>Enumerates up to <paramref name="maxBatches"/> batches in a fixed order, for validation.</summary>
    IEnumerable<(int[] Inputs, int[] Targets, float[]? Weights)> Sequential(int maxBatches);
}
