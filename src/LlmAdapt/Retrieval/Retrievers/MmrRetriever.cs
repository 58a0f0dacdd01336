using System.Numerics.Tensors;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>
/// Maximal marginal relevance: takes candidates from an inner retriever and picks, one at a time, the chunk that
/// maximises λ·similarity(query) − (1 − λ)·max similarity(already picked), so near-duplicates do not crowd the list.
/// </summary>
public sealed class MmrRetriever : IRetriever
{
    private readonly IRetriever _inner;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly MmrOptions _options;

    /// <summary>Initializes the retriever.</summary>
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

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var candidates = await _inner.RetrieveAsync(request with { TopK = Math.Max(request.TopK, _options.CandidateCount) }, cancellationToken).ConfigureAwait(false);
        if (candidates.Count == 0)
        {
            return candidates;
        }

        var embeddings = await _generator.GenerateAsync([request.Query, .. candidates.Select(c => c.Chunk.Text)], cancellationToken: cancellationToken).ConfigureAwait(false);
        var vectors = embeddings.Select(e => Unit(e.Vector.ToArray())).ToArray();
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
