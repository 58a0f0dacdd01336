namespace LlmAdapt.Training.Reward;

/// <summary>
/// What a reward model's features are made of; combine with <c>|</c>. Each embedding part adds the encoder's dimension
/// to the feature vector.
/// </summary>
[Flags]
public enum RewardFeatures
{
    /// <summary>No features (not valid on its own).</summary>
    None = 0,

    /// <summary>The embedding of the response alone.</summary>
    Response = 1,

    /// <summary>
    /// The embedding of prompt + response. Encoders read a bounded number of tokens from the start, so the prompt is cut
    /// to its last <see cref="RewardModelOptions.PromptTailCharacters"/> characters first: the question being answered is at its end.
    /// </summary>
    PromptAndResponse = 2,

    /// <summary>
    /// The embedding of the prompt (its tail). It is the same for both sides of a pair, so a linear head ignores it; an
    /// MLP can use it to judge the response in context.
    /// </summary>
    Prompt = 4,

    /// <summary>The response's length, log(1 + characters): a known, strong signal in human preference data.</summary>
    Length = 8,

    /// <summary>
    /// The element-wise product of the prompt's (tail's) embedding and the response's: how the response lines up with
    /// what was asked, in a form a linear head can weigh (a dot product would be its sum).
    /// </summary>
    Interaction = 16,
}
