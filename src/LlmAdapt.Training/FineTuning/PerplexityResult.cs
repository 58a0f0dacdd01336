namespace LlmAdapt.Training.FineTuning;

/// <summary>A model's loss on a text.</summary>
/// <param name="Loss">The mean next-token loss in nats.</param>
/// <param name="Perplexity">e to the loss.</param>
/// <param name="Tokens">How many predicted tokens were scored.</param>
public sealed record PerplexityResult(double Loss, double Perplexity, long Tokens)
{
    /// <summary>
    /// Gets the entropy (nats) of the model tokenizer's token frequencies in the part of the text before the scored
    /// part (the unigram baseline of a pre-training split), or null when the whole text was scored.
    /// </summary>
    public double? UnigramEntropy { get; init; }
}
