using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>How a <see cref="MmrRetriever"/> trades relevance for diversity.</summary>
public sealed class MmrOptions
{
    /// <summary>Gets or sets the weight of relevance against novelty: 1 is pure relevance, 0 pure diversity; 0.7 by default.</summary>
    [Range(0.0, 1.0)]
    public double Lambda { get; set; } = 0.7;

    /// <summary>Gets or sets how many candidates to fetch from the inner retriever before selecting; 30 by default.</summary>
    [Range(1, 10_000)]
    public int CandidateCount { get; set; } = 30;
}
