namespace LlmAdapt.Training.Heads;

/// <summary>The shape of a head trained on frozen embeddings.</summary>
public enum HeadKind
{
    /// <summary>One linear layer: multinomial logistic regression (or, for a reward model, a linear reward).</summary>
    Linear,

    /// <summary>A small multilayer perceptron: linear → ReLU → dropout → linear.</summary>
    Mlp,
}
