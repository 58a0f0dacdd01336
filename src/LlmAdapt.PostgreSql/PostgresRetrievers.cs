using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;

namespace LlmAdapt.PostgreSql;

/// <summary>Retrieves by embedding similarity (pgvector) from a <see cref="PostgresDocumentStore"/>, embedding the query with any <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.</summary>
/// <param name="store">The store; its chunks must have been embedded by the same model.</param>
/// <param name="generator">The embedding model.</param>
/// <param name="options">Access rules (principal required, mandatory filter); none by default.</param>
public sealed class PostgresDenseRetriever(PostgresDocumentStore store, IEmbeddingGenerator<string, Embedding<float>> generator, RetrieverOptions? options = null) : IRetriever
{
    private readonly PostgresDocumentStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator = generator ?? throw new ArgumentNullException(nameof(generator));
    private readonly RetrieverOptions _options = options ?? new RetrieverOptions();

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        var filter = _options.Combine(request);
        if (_store.Options.RequireAccessControl && request.Principal is null)
        {
            throw new AccessDeniedException("This store requires access control: the search must name a principal.");
        }

        var embedding = await _generator.GenerateAsync(request.Query, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await _store.SearchVectorAsync(embedding.Vector, request.TopK, filter, request.Principal, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Retrieves by PostgreSQL full text from a <see cref="PostgresDocumentStore"/>. A query of only stop words returns nothing.</summary>
/// <param name="store">The store.</param>
/// <param name="options">Access rules (principal required, mandatory filter); none by default.</param>
public sealed class PostgresKeywordRetriever(PostgresDocumentStore store, RetrieverOptions? options = null) : IRetriever
{
    private readonly PostgresDocumentStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly RetrieverOptions _options = options ?? new RetrieverOptions();

    /// <inheritdoc/>
    public Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        var filter = _options.Combine(request);
        return _store.SearchKeywordAsync(request.Query, request.TopK, filter, request.Principal, cancellationToken);
    }
}
