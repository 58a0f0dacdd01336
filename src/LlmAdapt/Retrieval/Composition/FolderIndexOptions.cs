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

    /// <summary>The model whose tokenizer measures chunks when <see cref="TokenCounter"/> is not set: <c>gpt-4o</c> (o200k).</summary>
    public const string DefaultTokenizerModel = "gpt-4o";

    /// <summary>
    /// Gets or sets the tokenizer chunk sizes are measured with: that of the model the chunks will be packed into a
    /// prompt for; <see langword="null"/> for <see cref="DefaultTokenizerModel"/>'s when no model is named.
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
