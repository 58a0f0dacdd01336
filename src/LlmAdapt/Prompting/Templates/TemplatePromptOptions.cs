using System.ComponentModel.DataAnnotations;
using LlmAdapt.Tokens;

namespace LlmAdapt.Prompting.Templates;

/// <summary>Options of <see cref="TemplatePromptStrategy"/>.</summary>
public sealed class TemplatePromptOptions
{
    /// <summary>Gets or sets the template; it sees <c>task</c> and every request input as variables. Required.</summary>
    [Required]
    public PromptTemplate? Template { get; set; }

    /// <summary>Gets or sets the most prompt tokens a call may use when the request gives no limit; <see langword="null"/> for none.</summary>
    [Range(1, 10_000_000)]
    public int? MaxPromptTokens { get; set; }

    /// <summary>Gets or sets what happens to a prompt over the limit. Default: refuse (<see cref="TokenBudgetOverflow.Throw"/>).</summary>
    [EnumDataType(typeof(TokenBudgetOverflow))]
    public TokenBudgetOverflow Overflow { get; set; } = TokenBudgetOverflow.Throw;
}
