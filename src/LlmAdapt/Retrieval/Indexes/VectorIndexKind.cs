namespace LlmAdapt.Retrieval.Indexes;

/// <summary>Which vector index a <see cref="DocumentIndex"/> keeps.</summary>
public enum VectorIndexKind
{
    /// <summary>Exact search: every vector scored (SIMD dot products); best up to a few hundred thousand chunks.</summary>
    Flat,

    /// <summary>Approximate search: a walk of an HNSW graph (tuned by <see cref="DocumentIndexOptions.Hnsw"/>); for large indexes.</summary>
    Hnsw,
}
