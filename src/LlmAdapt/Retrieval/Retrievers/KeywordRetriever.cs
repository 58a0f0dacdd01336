using LlmAdapt.Diagnostics;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>Retrieves by BM25 over a <see cref="DocumentIndex"/>. A query of only stop words returns nothing.</summary>
/// <param name="index">The index.</param>
/// <param name="options">Access rules; none by default.</param>
public sealed class KeywordRetriever(DocumentIndex index, RetrieverOptions? options = null) : IRetriever
{
    private readonly DocumentIndex _index = index ?? throw new ArgumentNullException(nameof(index));
    private readonly RetrieverOptions _options = options ?? new RetrieverOptions();

    /// <inheritdoc/>
    public Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        var filter = _options.Combine(request);
        cancellationToken.ThrowIfCancellationRequested();
        return RetrievalTelemetry.TraceAsync("keyword", nameof(DocumentIndex), request, () => Task.FromResult(_index.SearchKeyword(request.Query, request.TopK, filter, request.Principal)));
    }
}
