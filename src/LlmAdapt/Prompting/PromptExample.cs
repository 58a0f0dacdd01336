namespace LlmAdapt.Prompting;

/// <summary>
/// A worked example: an input and the output wanted for it. Few-shot pools show these to the model as chat turns;
/// the prompt optimiser scores instructions on a labelled set of them.
/// </summary>
/// <param name="Input">The input, as the user would write it.</param>
/// <param name="Output">The output wanted for <paramref name="Input"/>.</param>
public sealed record PromptExample(string Input, string Output)
{
    /// <summary>Gets optional metadata (a label, a source, a category); never sent to the model.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
