using System.ComponentModel.DataAnnotations;
using LlmAdapt.Training.Internal;

namespace LlmAdapt.Training.Heads;

/// <summary>Settings of <see cref="TaskHeadTrainer"/>; validated when the trainer is created.</summary>
public sealed class TaskHeadOptions : IHeadSettings
{
    /// <summary>Gets or sets the head's shape. Default: <see cref="HeadKind.Linear"/>.</summary>
    [EnumDataType(typeof(HeadKind))]
    public HeadKind Head { get; set; } = HeadKind.Linear;

    /// <summary>Gets or sets the MLP's hidden width; from 1 to 16,384 (ignored by the linear head). Default: 256.</summary>
    [Range(1, 16_384)]
    public int HiddenSize { get; set; } = 256;

    /// <summary>Gets or sets the MLP's dropout probability on the hidden layer; from 0 to 0.9. Default: 0.2.</summary>
    [Range(0.0, 0.9)]
    public double Dropout { get; set; } = 0.2;

    /// <summary>Gets or sets the dropout probability on the input features during training; from 0 to 0.9. Default: 0.</summary>
    [Range(0.0, 0.9)]
    public double InputDropout { get; set; }

    /// <summary>
    /// Gets or sets the factor the learning rate is multiplied by after an epoch that does not lower the validation loss
    /// (reduce-on-plateau); from 0.01 to 1, where 1 keeps it constant. Default: 0.5.
    /// </summary>
    [Range(0.01, 1.0)]
    public double PlateauDecay { get; set; } = 0.5;

    /// <summary>Gets or sets AdamW's learning rate; from 1e-6 to 1. Default: 0.001.</summary>
    [Range(1e-6, 1.0)]
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Gets or sets AdamW's decoupled weight decay (applied to weights, not biases); from 0 to 10. Default: 0.01.</summary>
    [Range(0.0, 10.0)]
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>Gets or sets the mini-batch size; from 1 to 65,536. Default: 64.</summary>
    [Range(1, 65_536)]
    public int BatchSize { get; set; } = 64;

    /// <summary>Gets or sets the most epochs; from 1 to 10,000. Default: 30.</summary>
    [Range(1, 10_000)]
    public int MaxEpochs { get; set; } = 30;

    /// <summary>Gets or sets how many epochs without a better validation loss end training; 0 turns early stopping off. Default: 3.</summary>
    [Range(0, 10_000)]
    public int Patience { get; set; } = 3;

    /// <summary>Gets or sets the share of the training set held out for validation when the request has no validation set; from 0 to 0.5. Default: 0.1.</summary>
    [Range(0.0, 0.5)]
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Gets or sets how the validation examples are held out when the request has none. Default: <see cref="Heads.ValidationSplit.Stratified"/>.</summary>
    [EnumDataType(typeof(ValidationSplit))]
    public ValidationSplit ValidationSplit { get; set; } = ValidationSplit.Stratified;

    /// <summary>
    /// Gets or sets how many heads are trained (each from its own initial weights, batch order and dropout, on the same
    /// split) and averaged into one: MLP members sit side by side in one wider hidden layer, linear members average
    /// their weights. From 1 to 32. Default: 1.
    /// </summary>
    [Range(1, 32)]
    public int EnsembleSize { get; set; } = 1;

    /// <summary>
    /// Gets or sets whether each example's weight is multiplied by √(its number of words), so whole sentences count more
    /// than short phrases: for phrase-level training data (SST-2) used to classify whole texts. Default: <see langword="false"/>.
    /// </summary>
    public bool WeightByLength { get; set; }

    /// <summary>Gets or sets label smoothing ε: the target puts 1 − ε on the true class and ε spread over all classes; from 0 to 0.5. Default: 0.</summary>
    [Range(0.0, 0.5)]
    public double LabelSmoothing { get; set; }

    /// <summary>Gets or sets how classes are weighed in the loss. Default: <see cref="ClassWeighting.None"/>.</summary>
    [EnumDataType(typeof(ClassWeighting))]
    public ClassWeighting ClassWeighting { get; set; } = ClassWeighting.None;

    /// <summary>Gets or sets the gradient-norm clip; 0 turns clipping off. Default: 5.</summary>
    [Range(0.0, 1e6)]
    public double MaxGradientNorm { get; set; } = 5;

    /// <summary>
    /// Gets or sets the embedding model's identity recorded in the head, or <see langword="null"/> to take the
    /// generator's <c>EmbeddingGeneratorMetadata.DefaultModelId</c>. One of the two must be known.
    /// </summary>
    public string? EmbeddingModelId { get; set; }

    /// <summary>Throws when a value is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">An option is out of range; every problem is listed.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);
}
