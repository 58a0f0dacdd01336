using System.ComponentModel.DataAnnotations;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.FineTuning;

/// <summary>
/// How a decoder is trained: the optimiser (AdamW), the schedule (linear warm-up, cosine decay), batch shape,
/// clipping, evaluation and checkpoint cadence. Validated when a tuner starts; every problem is listed at once.
/// </summary>
public sealed class DecoderTrainingOptions : IValidatableObject
{
    /// <summary>Gets or sets the number of optimiser steps.</summary>
    [Range(1, 10_000_000)]
    public int Steps { get; set; } = 1000;

    /// <summary>Gets or sets the sequences per micro-batch (B).</summary>
    [Range(1, 4096)]
    public int BatchSize { get; set; } = 8;

    /// <summary>Gets or sets the tokens per sequence (T); at most the model's context.</summary>
    [Range(2, 1 << 20)]
    public int SequenceLength { get; set; } = 128;

    /// <summary>Gets or sets how many micro-batches add up to one step.</summary>
    [Range(1, 4096)]
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Gets or sets the peak learning rate.</summary>
    [Range(1e-9, 10.0)]
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Gets or sets the final learning rate as a fraction of the peak.</summary>
    [Range(0.0, 1.0)]
    public double MinLearningRateRatio { get; set; } = 0.1;

    /// <summary>Gets or sets the linear warm-up length in steps.</summary>
    [Range(0, 10_000_000)]
    public int WarmupSteps { get; set; } = 50;

    /// <summary>Gets or sets AdamW's decoupled weight decay (matrices only).</summary>
    [Range(0.0, 10.0)]
    public double WeightDecay { get; set; } = 0.1;

    /// <summary>Gets or sets AdamW's β1.</summary>
    [Range(0.0, 0.99999)]
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Gets or sets AdamW's β2.</summary>
    [Range(0.0, 0.99999)]
    public double Beta2 { get; set; } = 0.95;

    /// <summary>Gets or sets the global gradient-norm clip; 0 turns clipping off.</summary>
    [Range(0.0, 1e6)]
    public double MaxGradientNorm { get; set; } = 1.0;

    /// <summary>Gets or sets how often (in steps) validation loss is measured; the last step always is.</summary>
    [Range(1, 10_000_000)]
    public int EvaluationInterval { get; set; } = 100;

    /// <summary>Gets or sets the most validation batches per evaluation.</summary>
    [Range(1, 100_000)]
    public int EvaluationBatches { get; set; } = 20;

    /// <summary>Gets or sets how often (in steps) a checkpoint is written; the last step always is.</summary>
    [Range(1, 10_000_000)]
    public int CheckpointInterval { get; set; } = 200;

    /// <summary>Gets or sets the fraction of a corpus held out for validation when no validation set is given.</summary>
    [Range(0.01, 0.5)]
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>
    /// Gets or sets when a loss counts as exploding: above this multiple of the first step's loss (or not finite),
    /// training stops with <see cref="TrainingDivergedException"/> and the last good checkpoint is kept.
    /// </summary>
    [Range(1.01, 1e6)]
    public double DivergenceFactor { get; set; } = 4.0;

    /// <summary>Gets or sets the threads the kernels use (default: every core).</summary>
    [Range(1, 1024)]
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Gets or sets how many MiB a LoRA run may spend keeping its frozen weights packed for the matrix multiply
    /// (each frozen projection and the head twice: for the forward and for the input gradient, together about twice
    /// the base's size), so no step copies them into panels again; 0 packs nothing. Default 2,048: every weight of a
    /// model up to about 250 M parameters; the first-used weights of a larger one. A full fine-tune packs nothing (its
    /// weights change every step).
    /// </summary>
    [Range(0, 1 << 20)]
    public int FrozenWeightPackMegabytes { get; set; } = 2048;

    /// <summary>
    /// Gets or sets the shape of a model created from scratch when the request names no base model: a
    /// <see cref="Models.Gpt2.Gpt2Config"/> or a <see cref="Models.Llama.LlamaConfig"/> (both tokenized with GPT-2's tokenizer).
    /// </summary>
    public DecoderConfig? NewModel { get; set; }

    /// <summary>
    /// Gets or sets LoRA; when set the base is frozen and only adapters are trained and saved. When the base model is
    /// an adapter folder, its adapters are trained further (with their own rank and targets) and this is not used.
    /// </summary>
    public LoraOptions? Lora { get; set; }

    /// <summary>
    /// Gets or sets whether to resume: the base model folder's <c>optimizer.safetensors</c> is loaded and training
    /// continues from its step on the same schedule and batch sequence (use the same options and seed as the first run).
    /// </summary>
    public bool Resume { get; set; }

    /// <summary>Gets or sets whether LoRA adapters are merged into the base and a full checkpoint is written instead.</summary>
    public bool MergeLora { get; set; }

    /// <summary>Throws when an option is out of range, listing every problem (the LoRA options' too).</summary>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    /// <exception cref="ArgumentException"><see cref="NewModel"/> describes an impossible model shape.</exception>
    public void Validate()
    {
        OptionsValidator.ThrowIfInvalid(this);
        NewModel?.Validate();
    }

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (WarmupSteps > Steps)
        {
            yield return new ValidationResult($"WarmupSteps ({WarmupSteps}) is more than Steps ({Steps})", [nameof(WarmupSteps)]);
        }

        foreach (var problem in OptionsValidator.Nested(Lora, nameof(Lora)))
        {
            yield return problem;
        }
    }
}
