using System.ComponentModel.DataAnnotations;
using LlmAdapt.Training.Internal;
using LlmAdapt.Training.Heads;

namespace LlmAdapt.Training.Reward;

/// <summary>Settings of <see cref="RewardModelTrainer"/>; validated when the trainer is created.</summary>
public sealed class RewardModelOptions : IValidatableObject, IHeadSettings
{
    /// <summary>Gets or sets the head's shape. Default: <see cref="HeadKind.Mlp"/>.</summary>
    [EnumDataType(typeof(HeadKind))]
    public HeadKind Head { get; set; } = HeadKind.Mlp;

    /// <summary>
    /// Gets or sets what the features are made of. Default: <see cref="RewardFeatures.Response"/> |
    /// <see cref="RewardFeatures.PromptAndResponse"/> | <see cref="RewardFeatures.Prompt"/> | <see cref="RewardFeatures.Interaction"/>
    /// (chosen by 5-fold cross-validation on HH-RLHF training pairs; see docs/preferences.md).
    /// </summary>
    public RewardFeatures Features { get; set; } = RewardFeatures.Response | RewardFeatures.PromptAndResponse | RewardFeatures.Prompt | RewardFeatures.Interaction;

    /// <summary>Gets or sets how many characters of the prompt's end go into the prompt features; from 1 to 100,000. Default: 500.</summary>
    [Range(1, 100_000)]
    public int PromptTailCharacters { get; set; } = 500;

    /// <summary>Gets or sets the MLP's hidden width; from 1 to 16,384. Default: 128.</summary>
    [Range(1, 16_384)]
    public int HiddenSize { get; set; } = 128;

    /// <summary>Gets or sets the MLP's dropout probability; from 0 to 0.9. Default: 0.3.</summary>
    [Range(0.0, 0.9)]
    public double Dropout { get; set; } = 0.3;

    /// <summary>Gets or sets the dropout probability on the input features during training; from 0 to 0.9. Default: 0.</summary>
    [Range(0.0, 0.9)]
    public double InputDropout { get; set; }

    /// <summary>Gets or sets AdamW's learning rate; from 1e-6 to 1. Default: 0.0005.</summary>
    [Range(1e-6, 1.0)]
    public double LearningRate { get; set; } = 5e-4;

    /// <summary>Gets or sets AdamW's decoupled weight decay; from 0 to 10. Default: 0.05.</summary>
    [Range(0.0, 10.0)]
    public double WeightDecay { get; set; } = 0.05;

    /// <summary>
    /// Gets or sets how many heads are trained (each from its own initial weights, batch order and dropout, on the same
    /// split) and averaged into one reward: MLP members sit side by side in one wider hidden layer, linear members
    /// average their weights. Averaging lowers the spread between seeds. From 1 to 32. Default: 5.
    /// </summary>
    [Range(1, 32)]
    public int EnsembleSize { get; set; } = 5;

    /// <summary>Gets or sets the pairs per mini-batch; from 1 to 65,536. Default: 32.</summary>
    [Range(1, 65_536)]
    public int BatchSize { get; set; } = 32;

    /// <summary>Gets or sets the most epochs; from 1 to 10,000. Default: 40.</summary>
    [Range(1, 10_000)]
    public int MaxEpochs { get; set; } = 40;

    /// <summary>Gets or sets how many epochs without a better validation loss end training; 0 turns early stopping off. Default: 5.</summary>
    [Range(0, 10_000)]
    public int Patience { get; set; } = 5;

    /// <summary>Gets or sets the share of pairs held out for validation when the request has none and there are at least 10 (with fewer, none is held out and there is no early stopping); from 0 to 0.5. Default: 0.1.</summary>
    [Range(0.0, 0.5)]
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Gets or sets whether a pair's <see cref="Preference.PreferencePair.Margin"/> is subtracted inside the loss, −log σ(r_c − r_r − m). Default: <see langword="false"/>.</summary>
    public bool UseMargin { get; set; }

    /// <summary>Gets or sets the weight of the centring term λ·(r_c + r_r)², which keeps rewards near zero mean; from 0 to 10. Default: 0.01.</summary>
    [Range(0.0, 10.0)]
    public double CenteringCoefficient { get; set; } = 0.01;

    /// <summary>Gets or sets the gradient-norm clip; 0 turns clipping off. Default: 5.</summary>
    [Range(0.0, 1e6)]
    public double MaxGradientNorm { get; set; } = 5;

    /// <summary>Gets or sets the embedding model's identity, or <see langword="null"/> to take the generator's metadata.</summary>
    public string? EmbeddingModelId { get; set; }

    /// <summary>Throws when a value is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">An option is out of range; every problem is listed.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if ((Features & (RewardFeatures.Response | RewardFeatures.PromptAndResponse | RewardFeatures.Length | RewardFeatures.Interaction)) == 0)
        {
            yield return new ValidationResult($"Features ({Features}) must include Response, PromptAndResponse, Interaction or Length; the prompt alone cannot tell two responses apart", [nameof(Features)]);
        }

        if ((Features & ~(RewardFeatures.Response | RewardFeatures.PromptAndResponse | RewardFeatures.Prompt | RewardFeatures.Length | RewardFeatures.Interaction)) != 0)
        {
            yield return new ValidationResult($"Features has unknown flags ({(int)Features})", [nameof(Features)]);
        }
    }
}
