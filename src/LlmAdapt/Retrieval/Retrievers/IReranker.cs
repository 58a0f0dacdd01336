namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>Reorders retrieved passages by relevance to a query (a cross-encoder, an LLM, a hosted rerank API).</summary>
public interface IReranker
{
    /// <summary>Returns <paramref name="candidates"/> reordered best first, at most <paramref name="topK"/> of them, re-ranked from 1.</summary>
    /// <param name="query">The query.</param>
    /// <param name="candidates">The passages to reorder.</param>
    /// <param name="topK">How many to keep; at least 1.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The passages, best first.</returns>
    Task<IReadOnlyList<RetrievedChunk>> RerankAsync(string query, IReadOnlyList<RetrievedChunk> candidates, int topK, CancellationToken cancellationToken = default);
}
