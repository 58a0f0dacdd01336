using System.Numerics.Tensors;
using LlmAdapt.Retrieval.Indexes;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>
/// Maximal marginal relevance: takes candidates from an inner retriever and picks, one at a time, the chunk that
/// maximises λ·similarity(query) − (1 − λ)·max similarity(already picked), so near-duplicates do not crowd the list.
/// Candidates are compared by the vectors stored in the <see cref="DocumentIndex"/> when one is given; a candidate
/// without a stored vector is embedded from the same text the index embeds (<see cref="DocumentIndexer.TextForEmbedding"/>).
/// </summary>
public sealed class MmrRetriever : IRetriever
{
    private readonly IRetriever _inner;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly MmrOptions _options;
    private readonly DocumentIndex? _index;

    /// <summary>Initializes the retriever over candidates from any store; each candidate is embedded from <see cref="DocumentIndexer.TextForEmbedding"/>.</summary>
    /// <param name="inner">Where candidates come from (it applies filters and access control).</param>
    /// <param name="generator">Embeds the query and the candidates.</param>
    /// <param name="options">The trade-off; validated here.</param>
    public MmrRetriever(IRetriever inner, IEmbeddingGenerator<string, Embedding<float>> generator, MmrOptions? options = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _options = options ?? new MmrOptions();
        OptionsValidator.ThrowIfInvalid(_options);
    }

    /// <summary>Initializes the retriever over candidates from <paramref name="index"/>, compared by the vectors stored there.</summary>
    /// <param name="inner">Where candidates come from (a retriever over <paramref name="index"/>; it applies filters and access control).</param>
    /// <param name="index">The index whose stored vectors the candidates are compared by.</param>
    /// <param name="generator">Embeds the query (the model the index was embedded with), and any candidate the index holds no vector for.</param>
    /// <param name="options">The trade-off; validated here.</param>
    /// <exception cref="LlmAdaptException">The index was embedded with a different model than <paramref name="generator"/>.</exception>
    public MmrRetriever(IRetriever inner, DocumentIndex index, IEmbeddingGenerator<string, Embedding<float>> generator, MmrOptions? options = null)
        : this(inner, generator, options)
    {
        _index = index ?? throw new ArgumentNullException(nameof(index));
        Composition.RetrieverFactory.EnsureSameModel(index, generator);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var candidates = await _inner.RetrieveAsync(request with { TopK = Math.Max(request.TopK, _options.CandidateCount) }, cancellationToken).ConfigureAwait(false);
        if (candidates.Count == 0)
        {
            return candidates;
        }

        var vectors = new float[candidates.Count + 1][];
        for (var i = 0; i < candidates.Count; i++)
        {
            vectors[i + 1] = _index?.GetEmbedding(candidates[i].Chunk.Id)!;
        }

        var missing = Enumerable.Range(1, candidates.Count).Where(i => vectors[i] is null).ToList();
        var embeddings = await _generator.GenerateAsync([request.Query, .. missing.Select(i => DocumentIndexer.TextForEmbedding(candidates[i - 1].Chunk))], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (embeddings.Count != missing.Count + 1)
        {
            throw new LlmAdaptException($"The embedding model returned {embeddings.Count} embeddings for {missing.Count + 1} texts.");
        }

        vectors[0] = embeddings[0].Vector.ToArray();
        for (var j = 0; j < missing.Count; j++)
        {
            vectors[missing[j]] = embeddings[j + 1].Vector.ToArray();
        }

        foreach (var vector in vectors)
        {
            Unit(vector);
        }

        var query = vectors[0];
        var relevance = candidates.Select((_, i) => (double)TensorPrimitives.Dot(query, vectors[i + 1])).ToArray();
        var picked = new List<int>();
        var remaining = Enumerable.Range(0, candidates.Count).ToList();
        while (picked.Count < request.TopK && remaining.Count > 0)
        {
            var best = -1;
            var bestValue = double.NegativeInfinity;
            foreach (var i in remaining)
            {
                var redundancy = picked.Count == 0 ? 0 : picked.Max(p => (double)TensorPrimitives.Dot(vectors[i + 1], vectors[p + 1]));
                var value = (_options.Lambda * relevance[i]) - ((1 - _options.Lambda) * redundancy);
                if (value > bestValue)
                {
                    bestValue = value;
                    best = i;
                }
            }

            picked.Add(best);
            remaining.Remove(best);
        }

        return [.. picked.Select((i, rank) => candidates[i] with { Score = relevance[i], Rank = rank + 1 })];
    }

    private static float[] Unit(float[] vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }
}
