using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.FewShot;

/// <summary>
/// Selects <c>k</c> examples by maximal marginal relevance: each pick maximises
/// <c>lambda · sim(input, example) − (1 − lambda) · max sim(example, already picked)</c>, so the examples are
/// relevant yet unlike one another. <c>lambda = 1</c> is plain similarity; <c>0</c> is diversity only. Candidates are
/// the <c>fetchK</c> most similar examples. The pool is embedded once, on first use.
/// </summary>
public sealed class MaxMarginalRelevanceExampleSelector : IExampleSelector
{
    private readonly ExampleEmbeddingIndex _index;

    /// <summary>Initializes the selector.</summary>
    /// <param name="pool">The examples to choose from; at least one.</param>
    /// <param name="embeddingGenerator">Embeds the example inputs and each query input.</param>
    /// <param name="k">How many examples to select; at least 1.</param>
    /// <param name="lambda">The weight of relevance against diversity, from 0 to 1.</param>
    /// <param name="fetchK">How many of the most similar examples are candidates; at least <paramref name="k"/>; <see langword="null"/> for the whole pool.</param>
    public MaxMarginalRelevanceExampleSelector(IEnumerable<PromptExample> pool, IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator, int k = 4, double lambda = 0.5, int? fetchK = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(embeddingGenerator);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (double.IsNaN(lambda) || lambda is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "Lambda must be from 0 to 1.");
        }

        if (fetchK is { } f && f < k)
        {
            throw new ArgumentOutOfRangeException(nameof(fetchK), fetchK, $"fetchK ({f}) must be at least k ({k}).");
        }

        PromptExample[] examples = [.. pool];
        if (examples.Length == 0)
        {
            throw new ArgumentException("The example pool is empty.", nameof(pool));
        }

        _index = new ExampleEmbeddingIndex(examples, embeddingGenerator);
        K = k;
        Lambda = lambda;
        FetchK = fetchK;
    }

    /// <summary>Gets how many examples are selected.</summary>
    public int K { get; }

    /// <summary>Gets the weight of relevance against diversity.</summary>
    public double Lambda { get; }

    /// <summary>Gets how many of the most similar examples are candidates, or <see langword="null"/> for all.</summary>
    public int? FetchK { get; }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<PromptExample>> SelectAsync(string input, CancellationToken cancellationToken = default)
    {
        var vectors = await _index.VectorsAsync(cancellationToken).ConfigureAwait(false);
        var query = await _index.EmbedQueryAsync(input, cancellationToken).ConfigureAwait(false);
        var candidates = ExampleEmbeddingIndex.TopK(vectors, query, FetchK ?? vectors.Length);

        var picked = new List<int>(K);
        // maxSimilarity[c] is the candidate's highest similarity to anything picked so far.
        var maxSimilarity = new double[candidates.Length];
        Array.Fill(maxSimilarity, double.NegativeInfinity);
        var used = new bool[candidates.Length];
        while (picked.Count < K && picked.Count < candidates.Length)
        {
            var best = -1;
            var bestScore = double.NegativeInfinity;
            for (var c = 0; c < candidates.Length; c++)
            {
                if (used[c])
                {
                    continue;
                }

                var redundancy = picked.Count == 0 ? 0 : maxSimilarity[c];
                var score = (Lambda * (double)candidates[c].Score) - ((1 - Lambda) * redundancy);
                if (score > bestScore)
                {
                    bestScore = score;
                    best = c;
                }
            }

            used[best] = true;
            var chosen = candidates[best].Index;
            picked.Add(chosen);
            for (var c = 0; c < candidates.Length; c++)
            {
                if (!used[c])
                {
                    maxSimilarity[c] = Math.Max(maxSimilarity[c], ExampleEmbeddingIndex.Cosine(vectors[candidates[c].Index], vectors[chosen]));
                }
            }
        }

        return [.. picked.Select(i => _index.Pool[i])];
    }
}
