namespace LlmAdapt.Training.FineTuning;

/// <summary>A model's loss on a text.</summary>
/// <param name="Loss">The mean next-token loss in nats.</param>
/// <param name="Perplexity">e to the loss.</param>
/// <param name="Tokens">How many predicted tokens were scored.</param>
public sealed record PerplexityResult(double Loss, double Perplexity, long Tokens);
