using System.ComponentModel.DataAnnotations;
using LlmAdapt.Generation;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// How tokens are chosen and when generation stops. The defaults decode greedily for up to 256 new tokens.
/// Call <see cref="Validate"/> (done by every generate call) to get one exception listing every problem.
/// </summary>
public sealed class GenerationOptions : IValidatableObject
{
    /// <summary>Gets or sets the most tokens generated per sequence; from 1 to 1,000,000. Default: 256.</summary>
    [Range(1, 1_000_000)]
    public int MaxNewTokens { get; set; } = 256;

    /// <summary>
    /// Gets or sets the softmax temperature; 0 (the default) decodes greedily, taking the most likely id at every step.
    /// From 0 to 100.
    /// </summary>
    [Range(0.0, 100.0)]
    public double Temperature { get; set; }

    /// <summary>Gets or sets how many of the most likely ids sampling keeps; 0 (the default) keeps all. From 0 to 1,000,000.</summary>
    [Range(0, 1_000_000)]
    public int TopK { get; set; }

    /// <summary>Gets or sets the nucleus: the smallest set of most likely ids whose probability reaches it; 1 (the default) keeps all. Above 0, at most 1.</summary>
    [Range(double.Epsilon, 1.0)]
    public double TopP { get; set; } = 1.0;

    /// <summary>
    /// Gets or sets the repetition penalty applied to every id already in the sequence (prompt included): positive logits
    /// are divided by it, negative ones multiplied. 1 (the default) turns it off. From 0.01 to 100.
    /// </summary>
    [Range(0.01, 100.0)]
    public double RepetitionPenalty { get; set; } = 1.0;

    /// <summary>Gets or sets the seed of the sampler; the same seed, prompt and options give the same output. <see langword="null"/> seeds randomly.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Gets or sets the LoRA adapter to decode with: a name given to <see cref="OnnxDecoderModel.LoadAdapter"/>.
    /// <see langword="null"/> (the default) decodes with the base weights.
    /// </summary>
    public string? Adapter { get; set; }

    /// <summary>Gets or sets ids that end a sequence, besides the model's end-of-sequence ids. The stop id is kept in <see cref="GenerationResult.TokenIds"/> but not in the text.</summary>
    public IReadOnlyList<int> StopTokenIds { get; set; } = [];

    /// <summary>
    /// Gets or sets strings that end a sequence when they appear in the decoded text, even across token boundaries;
    /// the text is cut just before the first one. Needs the model's tokenizer.
    /// </summary>
    public IReadOnlyList<string> StopStrings { get; set; } = [];

    /// <summary>Gets whether these options decode greedily (temperature 0).</summary>
    public bool IsGreedy => Temperature == 0;

    /// <summary>Creates the sampler these options describe (temperature, top-k, top-p, repetition penalty, seed).</summary>
    internal TokenSampler CreateSampler(int vocabularySize) => new(Temperature, TopK, TopP, RepetitionPenalty, Seed, vocabularySize);

    /// <summary>Checks every property and throws one exception listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">Some property is out of range; the message lists each with its value.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (StopTokenIds is null)
        {
            yield return new ValidationResult($"{nameof(StopTokenIds)} is null", [nameof(StopTokenIds)]);
        }
        else if (StopTokenIds.Any(id => id < 0))
        {
            yield return new ValidationResult($"{nameof(StopTokenIds)} holds a negative id ({StopTokenIds.First(id => id < 0)})", [nameof(StopTokenIds)]);
        }

        if (StopStrings is null)
        {
            yield return new ValidationResult($"{nameof(StopStrings)} is null", [nameof(StopStrings)]);
        }
        else if (StopStrings.Any(string.IsNullOrEmpty))
        {
            yield return new ValidationResult($"{nameof(StopStrings)} holds an empty string", [nameof(StopStrings)]);
        }
    }
}
