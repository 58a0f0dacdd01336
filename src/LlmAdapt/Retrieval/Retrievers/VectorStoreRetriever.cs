using LlmAdapt.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>
/// Dense retrieval over a Microsoft.Extensions.VectorData collection, for indexes larger than one machine's memory
/// (tested against an in-memory collection; for PostgreSQL + pgvector the LlmAdapt.PostgreSql package has its own
/// retrievers). The query is embedded with the given generator and searched in
/// the store; records are mapped to chunks, and the request's filter and principal are checked again on every result
/// (fail-closed), whatever the store's own filter did.
/// </summary>
/// <typeparam name="TKey">The collection's key type.</typeparam>
/// <typeparam name="TRecord">The collection's record type.</typeparam>
public sealed class VectorStoreRetriever<TKey, TRecord> : IRetriever
    where TKey : notnull
    where TRecord : class
{
    private readonly VectorStoreCollection<TKey, TRecord> _collection;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly Func<TRecord, DocumentChunk> _toChunk;
    private readonly VectorStoreRetrieverOptions<TRecord> _options;

    /// <summary>Initializes the retriever.</summary>
    /// <param name="collection">The collection; its vectors must come from the same model as <paramref name="generator"/>.</param>
    /// <param name="generator">Embeds queries.</param>
    /// <param name="toChunk">Maps a record to a chunk (text, source, metadata and access list).</param>
    /// <param name="options">Filters and access rules; validated here.</param>
    public VectorStoreRetriever(
        VectorStoreCollection<TKey, TRecord> collection,
        IEmbeddingGenerator<string, Embedding<float>> generator,
        Func<TRecord, DocumentChunk> toChunk,
        VectorStoreRetrieverOptions<TRecord>? options = null)
    {
        _collection = collection ?? throw new ArgumentNullException(nameof(collection));
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _toChunk = toChunk ?? throw new ArgumentNullException(nameof(toChunk));
        _options = options ?? new VectorStoreRetrieverOptions<TRecord>();
        OptionsValidator.ThrowIfInvalid(_options);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        var filter = _options.Access.Combine(request);
        return RetrievalTelemetry.TraceAsync("dense", "vector_store", request, async () =>
        {
            var embedding = await _generator.GenerateAsync(request.Query, cancellationToken: cancellationToken).ConfigureAwait(false);
            var search = new VectorSearchOptions<TRecord> { Filter = _options.StoreFilter?.Invoke(request) };
            var results = new List<RetrievedChunk>(request.TopK);
            var filteredOut = 0;
            await foreach (var hit in _collection.SearchAsync(embedding.Vector, request.TopK * _options.Oversample, search, cancellationToken).ConfigureAwait(false))
            {
                var chunk = _toChunk(hit.Record);
                if ((filter is not null && !filter.IsMatch(chunk.Metadata)) || (request.Principal is not null && !request.Principal.CanSee(chunk.AllowedPrincipals)))
                {
                    filteredOut++;
                    continue;
                }

                results.Add(new RetrievedChunk { Chunk = chunk, Score = hit.Score ?? 0, Rank = results.Count + 1 });
                if (results.Count == request.TopK)
                {
                    break;
                }
            }

            if (System.Diagnostics.Activity.Current is { } span && span.Source == LlmAdaptTelemetry.ActivitySource)
            {
                span.SetTag(RetrievalTelemetry.FilteredOutTag, filteredOut);
            }

            return (IReadOnlyList<RetrievedChunk>)results;
        });
    }
}
