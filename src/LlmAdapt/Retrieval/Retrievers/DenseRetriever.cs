using LlmAdapt.Diagnostics;
using LlmAdapt.Retrieval.Indexes;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>Retrieves by embedding similarity over a <see cref="DocumentIndex"/>, embedding the query with any <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.</summary>
/// <param name="index">The index; its chunks must have been embedded by the same model.</param>
/// <param name="generator">The embedding model.</param>
/// <param name="options">Access rules; none by default.</param>
public sealed class DenseRetriever(DocumentIndex index, IEmbeddingGenerator<string, Embedding<float>> generator, RetrieverOptions? options = null) : IRetriever
{
    private readonly DocumentIndex _index = index ?? throw new ArgumentNullException(nameof(index));
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator = generator ?? throw new ArgumentNullException(nameof(generator));
    private readonly RetrieverOptions _options = options ?? new RetrieverOptions();

    /// <inheritdoc/>
    public Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        var filter = _options.Combine(request);
        if (_index.Options.RequireAccessControl && request.Principal is null)
        {
            throw new AccessDeniedException("This index requires access control: the search must name a principal.");
        }

        return RetrievalTelemetry.TraceAsync("dense", nameof(DocumentIndex), request, async () =>
        {
            var embedding = await _generator.GenerateAsync(request.Query, cancellationToken: cancellationToken).ConfigureAwait(false);
            return _index.SearchVector(embedding.Vector.Span, request.TopK, filter, request.Principal);
        });
    }
}
