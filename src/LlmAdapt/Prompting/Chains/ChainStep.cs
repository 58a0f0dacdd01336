using LlmAdapt.Prompting.Templates;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.Chains;

/// <summary>
/// One named step of a <see cref="ChainPromptStrategy"/>: a template that may use the task (<c>task</c>), the request
/// inputs and the output of any earlier step, by that step's name.
/// </summary>
/// <param name="Name">The step's name; its output is the variable of that name for later steps. A Liquid identifier.</param>
/// <param name="Template">The step's messages.</param>
public sealed record ChainStep(string Name, PromptTemplate Template)
{
    /// <summary>Gets options for this step's call, or <see langword="null"/> for the request's options.</summary>
    public ChatOptions? ChatOptions { get; init; }
}
