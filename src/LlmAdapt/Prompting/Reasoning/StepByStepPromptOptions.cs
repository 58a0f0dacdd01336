namespace LlmAdapt.Prompting.Reasoning;

/// <summary>Options of <see cref="StepByStepPromptStrategy"/>: the reasoning prompt (see <see cref="ReasoningPromptOptions"/>), sent once.</summary>
public sealed class StepByStepPromptOptions : ReasoningPromptOptions
{
}
