using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>How a <see cref="HybridRetriever"/> fuses.</summary>
public sealed class HybridOptions
{
    /// <summary>Gets or sets the fusion method; reciprocal-rank fusion by default.</summary>
    public FusionMethod Method { get; set; } = FusionMethod.ReciprocalRank;

    /// <summary>Gets or sets the k of reciprocal-rank fusion, which damps the lead of top ranks; 60 by default.</summary>
    [Range(0.0, 10_000.0)]
    public double RrfK { get; set; } = 60;

    /// <summary>Gets or sets one weight per retriever, or <see langword="null"/> for equal weights.</summary>
    public IReadOnlyList<double>? Weights { get; set; }

    /// <summary>Gets or sets how many results each retriever contributes before fusion; at least the request's k. 100 by default.</summary>
    [Range(1, 100_000)]
    public int CandidateCount { get; set; } = 100;
}
