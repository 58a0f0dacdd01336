namespace LlmAdapt.Training.FineTuning;

/// <summary>A continuation sampled from a checkpoint by <see cref="DecoderEvaluator.SampleAsync"/>.</summary>
/// <param name="Text">The prompt and its continuation, without the beginning- and end-of-sequence tokens.</param>
/// <param name="GeneratedTokens">How many tokens were generated (an end-of-sequence token that stopped the run counted).</param>
/// <param name="EndOfSequence">Whether an end-of-sequence token stopped the run before the token limit.</param>
public sealed record DecoderSample(string Text, int GeneratedTokens, bool EndOfSequence);
