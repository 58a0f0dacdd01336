using System.ComponentModel.DataAnnotations;
using LlmAdapt.Tokens;

namespace LlmAdapt.Retrieval.Composition;

/// <summary>How <see cref="FolderIndexer"/> turns a folder of documents into an index.</summary>
public sealed class FolderIndexOptions : IValidatableObject
{
    /// <summary>Gets or sets the most tokens per chunk; 200 by default.</summary>
    [Range(1, 1_000_000)]
    public int MaxTokens { get; set; } = 200;

    /// <summary>Gets or sets the tokens repeated between consecutive chunks; 24 by default, less than <see cref="MaxTokens"/>.</summary>
    [Range(0, 1_000_000)]
    public int OverlapTokens { get; set; } = 24;

    /// <summary>Gets or sets principals or groups allowed to see every document, or <see langword="null"/> (empty) to record no access lists.</summary>
    public IReadOnlyList<string>? AllowedPrincipals { get; set; }

    /// <summary>
    /// Gets or sets the tokenizer chunk sizes are measured with: that of the model the chunks will be packed into a
    /// prompt for; <see langword="null"/> for <see cref="Tokens.TokenCounter.DefaultModel"/>'s (o200k) when no model is named.
    /// </summary>
    public TokenCounter? TokenCounter { get; set; }

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (OverlapTokens >= MaxTokens)
        {
            yield return new ValidationResult($"OverlapTokens ({OverlapTokens}) must be less than MaxTokens ({MaxTokens})", [nameof(OverlapTokens)]);
        }
    }
}
