namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>Fetches candidates from an inner retriever (which applies filters and access control) and reorders them with an <see cref="IReranker"/>.</summary>
public sealed class RerankingRetriever : IRetriever
{
    private readonly IRetriever _inner;
    private readonly IReranker _reranker;
    private readonly int _candidateCount;

    /// <summary>Initializes the retriever.</summary>
    /// <param name="inner">Where candidates come from.</param>
    /// <param name="reranker">What reorders them.</param>
    /// <param name="candidateCount">How many candidates to rerank; at least 1, 20 by default.</param>
    public RerankingRetriever(IRetriever inner, IReranker reranker, int candidateCount = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(candidateCount, 1);
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _reranker = reranker ?? throw new ArgumentNullException(nameof(reranker));
        _candidateCount = candidateCount;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var candidates = await _inner.RetrieveAsync(request with { TopK = Math.Max(request.TopK, _candidateCount) }, cancellationToken).ConfigureAwait(false);
        if (candidates.Count == 0)
        {
            return candidates;
        }

        var reranked = await _reranker.RerankAsync(request.Query, candidates, request.TopK, cancellationToken).ConfigureAwait(false);

        // A reranker may only reorder: anything it invents is dropped, so access control upstream still holds.
        var allowed = candidates.Select(c => c.Chunk.Id).ToHashSet(StringComparer.Ordinal);
        return [.. reranked.Where(r => allowed.Contains(r.Chunk.Id)).Take(request.TopK).Select((r, i) => r with { Rank = i + 1 })];
    }
}
