using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.FewShot;

/// <summary>
/// Selects the <c>k</c> examples whose inputs are most similar (cosine of embeddings) to the input, most similar
/// first; ties keep pool order. The pool is embedded once, on first use, and the vectors are kept.
/// </summary>
public sealed class SemanticSimilarityExampleSelector : IExampleSelector
{
    private readonly ExampleEmbeddingIndex _index;

    /// <summary>Initializes the selector.</summary>
    /// <param name="pool">The examples to choose from; at least one.</param>
    /// <param name="embeddingGenerator">Embeds the example inputs and each query input.</param>
    /// <param name="k">How many examples to select; at least 1.</param>
    public SemanticSimilarityExampleSelector(IEnumerable<PromptExample> pool, IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator, int k = 4)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(embeddingGenerator);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        PromptExample[] examples = [.. pool];
        if (examples.Length == 0)
        {
            throw new ArgumentException("The example pool is empty.", nameof(pool));
        }

        _index = new ExampleEmbeddingIndex(examples, embeddingGenerator);
        K = k;
    }

    /// <summary>Gets how many examples are selected.</summary>
    public int K { get; }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<PromptExample>> SelectAsync(string input, CancellationToken cancellationToken = default)
    {
        var vectors = await _index.VectorsAsync(cancellationToken).ConfigureAwait(false);
        var query = await _index.EmbedQueryAsync(input, cancellationToken).ConfigureAwait(false);
        return [.. ExampleEmbeddingIndex.TopK(vectors, query, K).Select(x => _index.Pool[x.Index])];
    }
}
