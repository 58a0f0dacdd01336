namespace LlmAdapt.Training.Heads;

/// <summary>A classifier's answer for one text.</summary>
public sealed record ClassificationResult
{
    /// <summary>Gets the most probable label.</summary>
    public required string Label { get; init; }

    /// <summary>Gets the probability of <see cref="Label"/>.</summary>
    public required double Probability { get; init; }

    /// <summary>Gets every label's probability (they sum to 1).</summary>
    public required IReadOnlyDictionary<string, double> Probabilities { get; init; }
}
