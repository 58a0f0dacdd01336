using System.ComponentModel.DataAnnotations;
using LlmAdapt.Prompting.Reasoning;

namespace LlmAdapt.Prompting.SelfConsistency;

/// <summary>Options of <see cref="SelfConsistencyPromptStrategy"/>: the reasoning prompt (see <see cref="ReasoningPromptOptions"/>) and how it is sampled.</summary>
public sealed class SelfConsistencyPromptOptions : ReasoningPromptOptions
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

    /// <summary>Gets or sets how answers are normalised before the vote. Default: <see cref="AnswerNormalizer.Default"/>.</summary>
    [Required]
    public Func<string, string> Normalizer { get; set; } = AnswerNormalizer.Default;
}
