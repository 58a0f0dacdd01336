using System.ComponentModel.DataAnnotations;
using LlmAdapt.Tokens;

namespace LlmAdapt.DependencyInjection;

/// <summary>The options every LlmAdapt package shares, bound from the <c>LlmAdapt</c> configuration section.</summary>
public sealed class LlmAdaptOptions : IValidatableObject
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "LlmAdapt";

    /// <summary>Gets or sets the model whose tokenizer counts prompt tokens (a name <see cref="TokenCounter.ForModel"/> knows). Default: <c>gpt-4o</c>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string TokenizerModel { get; set; } = "gpt-4o";

    /// <summary>Gets or sets the most tokens a prompt may use; from 1 to 10,000,000. Default: 8,192.</summary>
    [Range(1, 10_000_000)]
    public int MaxPromptTokens { get; set; } = 8192;

    /// <summary>Gets or sets what the shared <see cref="TokenBudget"/> does with a prompt that does not fit. Default: <see cref="TokenBudgetOverflow.Throw"/>.</summary>
    [EnumDataType(typeof(TokenBudgetOverflow))]
    public TokenBudgetOverflow Overflow { get; set; } = TokenBudgetOverflow.Throw;

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(TokenizerModel))
        {
            yield break;
        }

        string? problem = null;
        try
        {
            _ = TokenCounter.ForModel(TokenizerModel);
        }
        catch (ArgumentException ex)
        {
            problem = $"{nameof(TokenizerModel)}: {ex.Message}";
        }

        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(TokenizerModel)]);
        }
    }
}
