using System.ComponentModel.DataAnnotations;
using LlmAdapt.Prompting.Reasoning;

namespace LlmAdapt.Prompting.Optimization;

/// <summary>Options of <see cref="PromptOptimizer"/>.</summary>
public sealed class PromptOptimizerOptions
{
    /// <summary>Gets or sets what the instruction should make the model do, shown in the meta-prompt. Required.</summary>
    [Required(AllowEmptyStrings = false)]
    public string? TaskDescription { get; set; }

    /// <summary>
    /// Gets the instructions scored first. When empty, the search starts APE-style: the model is shown dev-set
    /// input/output pairs and asked, up to <see cref="CandidatesPerRound"/> times (fewer where
    /// <see cref="MaxModelCalls"/> would not cover scoring them), what instruction produced them.
    /// </summary>
    public IList<string> SeedInstructions { get; } = [];

    /// <summary>Gets or sets how many dev-set pairs the instruction-induction prompt shows when there are no seeds; from 1 to 50. Default: 5.</summary>
    [Range(1, 50)]
    public int InductionExamples { get; set; } = 5;

    /// <summary>Gets or sets how to score an answer. Default: <see cref="AnswerMetric.NormalizedMatch"/>.</summary>
    [Required]
    public AnswerMetric Metric { get; set; } = AnswerMetric.NormalizedMatch;

    /// <summary>Gets or sets how the answer is pulled from a reply before scoring, or <see langword="null"/> to score the whole reply.</summary>
    public IAnswerExtractor? Extractor { get; set; }

    /// <summary>Gets or sets how many new instructions are asked for in each round; from 1 to 20. Default: 4.</summary>
    [Range(1, 20)]
    public int CandidatesPerRound { get; set; } = 4;

    /// <summary>Gets or sets how many of the best instructions so far the meta-prompt shows; from 1 to 50. Default: 8.</summary>
    [Range(1, 50)]
    public int KeepTopK { get; set; } = 8;

    /// <summary>Gets or sets how many dev-set examples the meta-prompt shows; from 0 to 20. Default: 3.</summary>
    [Range(0, 20)]
    public int MetaPromptExamples { get; set; } = 3;

    /// <summary>Gets or sets the most model calls in all; from 1 to 1,000,000. Default: 200.</summary>
    [Range(1, 1_000_000)]
    public int MaxModelCalls { get; set; } = 200;

    /// <summary>Gets or sets the most proposal rounds; from 1 to 1,000. Default: 20.</summary>
    [Range(1, 1000)]
    public int MaxRounds { get; set; } = 20;

    /// <summary>Gets or sets the score that ends the search; from 0 to 1. Default: 1.</summary>
    [Range(0.0, 1.0)]
    public double TargetScore { get; set; } = 1.0;

    /// <summary>Gets or sets how many rounds in a row without a better score end the search; from 1 to 100. Default: 3.</summary>
    [Range(1, 100)]
    public int Patience { get; set; } = 3;

    /// <summary>Gets or sets the seed: proposal <c>j</c> of round <c>r</c> asks for seed <c>Seed + 1000·r + j</c>; scoring calls ask for <c>Seed</c>. Default: 0.</summary>
    public long Seed { get; set; }

    /// <summary>Gets or sets the temperature of proposal calls; from 0 to 2. Default: 1.</summary>
    [Range(0.0, 2.0)]
    public float ProposalTemperature { get; set; } = 1.0f;

    /// <summary>Gets or sets the temperature of scoring calls; from 0 to 2. Default: 0.</summary>
    [Range(0.0, 2.0)]
    public float EvaluationTemperature { get; set; }

    /// <summary>Gets or sets how many calls may be in flight at once; from 1 to 64. Default: 4.</summary>
    [Range(1, 64)]
    public int MaxConcurrency { get; set; } = 4;
}
