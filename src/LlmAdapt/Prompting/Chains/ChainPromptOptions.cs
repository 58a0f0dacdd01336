using System.ComponentModel.DataAnnotations;
using LlmAdapt.Tokens;

namespace LlmAdapt.Prompting.Chains;

/// <summary>Options of <see cref="ChainPromptStrategy"/>.</summary>
public sealed class ChainPromptOptions
{
    /// <summary>Gets the steps, in the order they run; at least one.</summary>
    [MinLength(1)]
    public IList<ChainStep> Steps { get; } = [];

    /// <summary>Gets or sets the step whose output is the result, or <see langword="null"/> for the last step.</summary>
    public string? OutputStep { get; set; }

    /// <summary>Gets or sets the most prompt tokens any step's call may use when the request gives no limit; <see langword="null"/> for none.</summary>
    [Range(1, 10_000_000)]
    public int? MaxPromptTokens { get; set; }

    /// <summary>Gets or sets what happens to a step's prompt over the limit. Default: refuse (<see cref="TokenBudgetOverflow.Throw"/>).</summary>
    [EnumDataType(typeof(TokenBudgetOverflow))]
    public TokenBudgetOverflow Overflow { get; set; } = TokenBudgetOverflow.Throw;
}
