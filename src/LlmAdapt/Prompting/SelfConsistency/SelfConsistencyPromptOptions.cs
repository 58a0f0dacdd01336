using System.ComponentModel.DataAnnotations;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Prompting.Templates;

namespace LlmAdapt.Prompting.SelfConsistency;

/// <summary>Options of <see cref="SelfConsistencyPromptStrategy"/>.</summary>
public sealed class SelfConsistencyPromptOptions
{
    /// <summary>Gets or sets how many reasoning paths to sample; from 1 to 100. Default: 5.</summary>
    [Range(1, 100)]
    public int Samples { get; set; } = 5;

    /// <summary>Gets or sets the sampling temperature of every sample; from 0 to 2. Default: 0.7.</summary>
    [Range(0.0, 2.0)]
    public float Temperature { get; set; } = 0.7f;

    /// <summary>Gets or sets how many samples may be in flight at once; from 1 to 64. Default: 4.</summary>
    [Range(1, 64)]
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Gets or sets a base seed: sample <c>i</c> is asked for seed <c>Seed + i</c>; <see langword="null"/> leaves seeds to the request options.</summary>
    public long? Seed { get; set; }

    /// <summary>Gets or sets the system message, or <see langword="null"/> for none.</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>Gets or sets a template for the task messages; <see langword="null"/> sends the task as one user message.</summary>
    public PromptTemplate? Template { get; set; }

    /// <summary>Gets or sets the reasoning cue appended last. Default: <see cref="ReasoningCues.StepByStep"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Cue { get; set; } = ReasoningCues.StepByStep;

    /// <summary>Gets or sets how the model is told to state its answer. Default: <see cref="ReasoningCues.AnswerLine"/>.</summary>
    public string? AnswerInstruction { get; set; } = ReasoningCues.AnswerLine;

    /// <summary>Gets or sets how each sample's answer is extracted. Default: a <see cref="MarkerAnswerExtractor"/> for <c>Answer:</c>.</summary>
    [Required]
    public IAnswerExtractor Extractor { get; set; } = new MarkerAnswerExtractor();

    /// <summary>Gets or sets how answers are normalised before the vote. Default: <see cref="AnswerNormalizer.Default"/>.</summary>
    [Required]
    public Func<string, string> Normalizer { get; set; } = AnswerNormalizer.Default;

    /// <summary>Gets or sets the most prompt tokens a call may use when the request gives no limit; <see langword="null"/> for none. Over the limit, the run is refused before any call.</summary>
    [Range(1, 10_000_000)]
    public int? MaxPromptTokens { get; set; }
}
