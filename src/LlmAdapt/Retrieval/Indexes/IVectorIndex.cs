namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// A vector index over integer keys, scored by dot product (cosine similarity for unit vectors). Implementations
/// allow add, update and delete while other threads search.
/// </summary>
internal interface IVectorIndex : IDisposable
{
    /// <summary>Gets the number of dimensions every vector has.</summary>
    int Dimensions { get; }

    /// <summary>Gets the number of vectors indexed.</summary>
    int Count { get; }

    /// <summary>Adds <paramref name="vector"/> under <paramref name="key"/>, replacing what the key held.</summary>
    /// <param name="key">A non-negative key.</param>
    /// <param name="vector">The vector, <see cref="Dimensions"/> long.</param>
    void Upsert(int key, ReadOnlySpan<float> vector);

    /// <summary>Removes <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>Whether the key was indexed.</returns>
    bool Remove(int key);

    /// <summary>Returns the <paramref name="topK"/> keys whose vectors have the largest dot product with <paramref name="query"/>, best first.</summary>
    /// <param name="query">The query vector, <see cref="Dimensions"/> long.</param>
    /// <param name="topK">How many keys to return at most; at least 1.</param>
    /// <param name="accept">Which keys may be returned (applied before ranking), or <see langword="null"/> for all.</param>
    /// <returns>The keys and scores.</returns>
    ScoredKey[] Search(ReadOnlySpan<float> query, int topK, Func<int, bool>? accept = null);

    /// <summary>Copies the vector stored under <paramref name="key"/> into <paramref name="destination"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="destination">A buffer <see cref="Dimensions"/> long.</param>
    /// <returns>Whether the key was indexed.</returns>
    bool TryGetVector(int key, Span<float> destination);
}
