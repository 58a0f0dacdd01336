namespace LlmAdapt.Training.Data;

/// <summary>A rendered example as token ids, with <see cref="LossMask"/> true on the tokens the model must learn to produce.</summary>
/// <param name="Tokens">The token ids, prompt then answer.</param>
/// <param name="LossMask">Per token, whether predicting it counts in the loss (answer tokens).</param>
/// <param name="Weight">The example's weight in the loss (<see cref="TrainingExample.Weight"/>).</param>
internal sealed record TokenizedExample(int[] Tokens, bool[] LossMask, float Weight = 1f);
