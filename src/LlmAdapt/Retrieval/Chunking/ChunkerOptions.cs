using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval.Chunking;

/// <summary>Chunk size limits, in tokens of the tokenizer the chunker is given.</summary>
public sealed class ChunkerOptions : IValidatableObject
{
    /// <summary>Gets or sets the most tokens a chunk may have; 256 by default (MiniLM-sized models read 256 wordpieces).</summary>
    [Range(1, 1_000_000)]
    public int MaxTokens { get; set; } = 256;

    /// <summary>Gets or sets how many tokens at most a chunk repeats from the end of the previous one; less than <see cref="MaxTokens"/>, 32 by default.</summary>
    [Range(0, 1_000_000)]
    public int OverlapTokens { get; set; } = 32;

    /// <summary>Throws when a value is out of range or the overlap is not below the maximum, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">The options are invalid.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (OverlapTokens >= MaxTokens)
        {
            yield return new ValidationResult($"OverlapTokens ({OverlapTokens}) must be less than MaxTokens ({MaxTokens})", [nameof(OverlapTokens)]);
        }
    }
}
