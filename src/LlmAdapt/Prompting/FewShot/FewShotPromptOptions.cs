using System.ComponentModel.DataAnnotations;
using LlmAdapt.Tokens;

namespace LlmAdapt.Prompting.FewShot;

/// <summary>Options of <see cref="FewShotPromptStrategy"/>.</summary>
public sealed class FewShotPromptOptions
{
    /// <summary>Gets or sets the selector that picks the examples for each task. Required.</summary>
    [Required]
    public IExampleSelector? Selector { get; set; }

    /// <summary>Gets or sets the system message (the instruction), or <see langword="null"/> for none.</summary>
    public string? Instructions { get; set; }

    /// <summary>Gets or sets the most prompt tokens a call may use when the request gives no limit; <see langword="null"/> for none.</summary>
    [Range(1, 10_000_000)]
    public int? MaxPromptTokens { get; set; }

    /// <summary>
    /// Gets or sets what happens when the prompt is over the limit even with every example dropped. Default:
    /// refuse (<see cref="TokenBudgetOverflow.Throw"/>).
    /// </summary>
    [EnumDataType(typeof(TokenBudgetOverflow))]
    public TokenBudgetOverflow Overflow { get; set; } = TokenBudgetOverflow.Throw;
}
