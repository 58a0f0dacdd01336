namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>How a <see cref="HybridRetriever"/> merges its retrievers' lists.</summary>
public enum FusionMethod
{
    /// <summary>Reciprocal-rank fusion: each list adds weight / (k + rank); scores are ignored, so scales never clash.</summary>
    ReciprocalRank,

    /// <summary>Weighted scores: each list's scores are min-max normalised to [0, 1], weighted and added.</summary>
    WeightedScore,
}
