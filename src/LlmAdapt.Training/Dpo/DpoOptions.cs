using System.ComponentModel.DataAnnotations;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;

namespace LlmAdapt.Training.Dpo;

/// <summary>The preference loss a <see cref="DpoTrainer"/> minimises (TRL's <c>loss_type</c>).</summary>
public enum DpoLossType
{
    /// <summary>DPO (Rafailov et al. 2023): −log σ(β·Δ) on summed response log-probabilities; TRL's <c>sigmoid</c>. With
    /// <see cref="DpoOptions.LabelSmoothing"/> ε &gt; 0 it is conservative DPO: (1 − ε)·(−log σ(β·Δ)) + ε·(−log σ(−β·Δ)).</summary>
    Sigmoid,

    /// <summary>IPO (Azar et al. 2023): (Δ − 1/(2β))² on length-normalised (mean per-token) log-probabilities; TRL's <c>ipo</c>.</summary>
    Ipo,

    /// <summary>
    /// Robust DPO (Chowdhury et al. 2024) for labels flipped with rate ε = <see cref="DpoOptions.LabelSmoothing"/>:
    /// ((1 − ε)·(−log σ(βΔ)) − ε·(−log σ(−βΔ))) / (1 − 2ε); TRL's <c>robust</c>.
    /// </summary>
    Robust,

    /// <summary>The hinge loss of SLiC (Zhao et al. 2023): max(0, 1 − β·Δ); TRL's <c>hinge</c>.</summary>
    Hinge,
}

/// <summary>
/// How a <see cref="DpoTrainer"/> tunes a decoder on preference pairs: the loss and its β, how long prompts and
/// responses may be, and the training loop (<see cref="Training"/>: steps, pairs per micro-batch, learning rate, LoRA).
/// Validated when the trainer is made; every problem is listed at once.
/// </summary>
public sealed class DpoOptions : IValidatableObject
{
    /// <summary>Gets or sets the loss. Default: <see cref="DpoLossType.Sigmoid"/>.</summary>
    public DpoLossType Loss { get; set; } = DpoLossType.Sigmoid;

    /// <summary>
    /// Gets or sets β, the strength of the pull towards the reference model (larger: closer to it). Greater than 0, at
    /// most 100. Default: 0.1.
    /// </summary>
    public double Beta { get; set; } = 0.1;

    /// <summary>Gets or sets ε, the assumed rate of flipped labels for <see cref="DpoLossType.Robust"/> and <see cref="DpoLossType.Sigmoid"/> (conservative DPO); in [0, 0.5). Default: 0.</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>
    /// Gets or sets the most prompt tokens kept; a longer prompt keeps its end (it is cut from the left, as TRL's
    /// <c>keep_end</c>). Default: 128.
    /// </summary>
    [Range(1, 1 << 20)]
    public int MaxPromptTokens { get; set; } = 128;

    /// <summary>
    /// Gets or sets the most response tokens kept, the end-of-text token included; a longer response keeps its start
    /// (it is cut from the right). When prompt and response together exceed the model's context the prompt is cut
    /// further from the left. Default: 128.
    /// </summary>
    [Range(1, 1 << 20)]
    public int MaxResponseTokens { get; set; } = 128;

    /// <summary>Gets or sets how many pairs are scored per batch when the reference log-probabilities are computed. Default: 8.</summary>
    [Range(1, 4096)]
    public int ReferenceBatchSize { get; set; } = 8;

    /// <summary>
    /// Gets or sets the instruction format the prompt is rendered with, or <see langword="null"/> (the default) to use the
    /// prompt text as it is, which suits dialogue text such as HH-RLHF's <c>"\n\nHuman: …\n\nAssistant:"</c>.
    /// </summary>
    public InstructionPromptFormat? PromptFormat { get; set; }

    /// <summary>
    /// Gets or sets the training loop: <see cref="DecoderTrainingOptions.BatchSize"/> counts pairs (each micro-batch
    /// runs 2 × that many sequences), <see cref="DecoderTrainingOptions.SequenceLength"/> is not used (the lengths above
    /// decide), and <see cref="DecoderTrainingOptions.Lora"/> set (the default, rank 8) tunes an adapter whose base with
    /// the adapter switched off is the reference; <see langword="null"/> tunes every weight.
    /// </summary>
    public DecoderTrainingOptions Training { get; set; } = new()
    {
        Steps = 200,
        BatchSize = 4,
        LearningRate = 5e-4,
        WarmupSteps = 10,
        WeightDecay = 0,
        EvaluationInterval = 50,
        CheckpointInterval = 100,
        Lora = new LoraOptions { Rank = 8, Alpha = 16 },
    };

    /// <summary>Throws when an option is out of range, listing every problem (the training loop's and LoRA's too).</summary>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (!(Beta > 0) || !double.IsFinite(Beta) || Beta > 100)
        {
            yield return new ValidationResult($"Beta is {Beta}; it must be greater than 0 and at most 100", [nameof(Beta)]);
        }

        if (!(LabelSmoothing >= 0 && LabelSmoothing < 0.5))
        {
            yield return new ValidationResult($"LabelSmoothing is {LabelSmoothing}; it must be in [0, 0.5)", [nameof(LabelSmoothing)]);
        }
        else if (LabelSmoothing > 0 && Loss is not (DpoLossType.Robust or DpoLossType.Sigmoid))
        {
            yield return new ValidationResult($"LabelSmoothing applies to the Robust and Sigmoid losses, not {Loss}", [nameof(LabelSmoothing)]);
        }

        if (!Enum.IsDefined(Loss))
        {
            yield return new ValidationResult($"Loss {(int)Loss} is not a DpoLossType", [nameof(Loss)]);
        }

        if (Training is null)
        {
            yield return new ValidationResult("Training is required", [nameof(Training)]);
        }

        foreach (var problem in OptionsValidator.Nested(Training, nameof(Training)))
        {
            yield return problem;
        }
    }
}
