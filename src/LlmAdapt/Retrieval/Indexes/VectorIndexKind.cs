namespace LlmAdapt.Retrieval.Indexes;

/// <summary>Which vector index a <see cref="DocumentIndex"/> keeps.</summary>
public enum VectorIndexKind
{
    /// <summary>Exact search (<see cref="FlatVectorIndex"/>): every vector scored; best up to a few hundred thousand chunks.</summary>
    Flat,

    /// <summary>Approximate search (<see cref="HnswVectorIndex"/>): a graph walk; for large indexes.</summary>
    Hnsw,
}
