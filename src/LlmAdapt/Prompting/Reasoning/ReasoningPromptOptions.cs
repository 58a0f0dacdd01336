using System.ComponentModel.DataAnnotations;
using LlmAdapt.Prompting.Templates;

namespace LlmAdapt.Prompting.Reasoning;

/// <summary>
/// The prompt of a reasoning call, shared by <see cref="StepByStepPromptOptions"/> and
/// <see cref="SelfConsistency.SelfConsistencyPromptOptions"/> (self-consistency samples the step-by-step prompt).
/// </summary>
public abstract class ReasoningPromptOptions
{
    /// <summary>Initializes the options with the defaults.</summary>
    protected ReasoningPromptOptions()
    {
    }

    /// <summary>Gets or sets the system message, or <see langword="null"/> for none.</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>
    /// Gets or sets a template for the task messages (it sees <c>task</c> and the request inputs); <see langword="null"/>
    /// sends the task as one user message.
    /// </summary>
    public PromptTemplate? Template { get; set; }

    /// <summary>Gets or sets the reasoning cue appended last. Default: <see cref="ReasoningCues.StepByStep"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Cue { get; set; } = ReasoningCues.StepByStep;

    /// <summary>
    /// Gets or sets how the model is told to state its answer, placed between the task and the cue, or
    /// <see langword="null"/> for nothing. Default: <see cref="ReasoningCues.AnswerLine"/>, which matches the default extractor.
    /// </summary>
    public string? AnswerInstruction { get; set; } = ReasoningCues.AnswerLine;

    /// <summary>Gets or sets how the answer is pulled from each reply. Default: a <see cref="MarkerAnswerExtractor"/> for <c>Answer:</c>.</summary>
    [Required]
    public IAnswerExtractor Extractor { get; set; } = new MarkerAnswerExtractor();

    /// <summary>
    /// Gets or sets the most prompt tokens a call may use when the request gives no limit; <see langword="null"/> for
    /// none. Over the limit, the run is refused before any call.
    /// </summary>
    [Range(1, 10_000_000)]
    public int? MaxPromptTokens { get; set; }
}
