using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Composition;

/// <summary>
/// Builds a retriever over a <see cref="DocumentIndex"/> by name. The one set of names and defaults that
/// <c>AddRetrieval()</c> and the <c>llmadapt</c> tool share: <c>keyword</c> (BM25; <c>bm25</c> is accepted as a
/// synonym), <c>dense</c> and <c>hybrid</c>; no name means hybrid when an embedding model is given and keyword otherwise;
/// hybrid fuses by <see cref="DefaultFusion"/> unless told otherwise.
/// </summary>
public static class RetrieverFactory
{
    /// <summary>BM25 keyword search.</summary>
    public const string Keyword = "keyword";

    /// <summary>Nearest neighbours of the query's embedding.</summary>
    public const string Dense = "dense";

    /// <summary>Keyword and dense results fused.</summary>
    public const string Hybrid = "hybrid";

    /// <summary>
    /// The fusion a composed hybrid retriever uses by default: an equal-weight convex combination of min-max normalised
    /// scores, which the fusion literature (Bruch et al., "An Analysis of Fusion Functions for Hybrid Retrieval") finds
    /// stronger than reciprocal-rank fusion, and which measured better here on Cranfield (docs/rag.md).
    /// </summary>
    public const FusionMethod DefaultFusion = FusionMethod.WeightedScore;

    /// <summary>Gets the names <see cref="Create"/> knows (synonyms left out).</summary>
    public static IReadOnlyList<string> Names { get; } = [Keyword, Dense, Hybrid];

    /// <summary>Returns whether <see cref="Normalize"/> knows <paramref name="name"/> (one of <see cref="Names"/> or <c>bm25</c>, case ignored).</summary>
    /// <param name="name">A retriever name.</param>
    /// <returns><see langword="true"/> when the name is known.</returns>
    public static bool IsKnown(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() is "bm25" or Keyword or Dense or Hybrid;
    }

    /// <summary>Returns the canonical name of <paramref name="name"/>: <c>bm25</c> becomes <c>keyword</c>; case is ignored.</summary>
    /// <param name="name">A retriever name.</param>
    /// <returns>One of <see cref="Names"/>.</returns>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid ones.</exception>
    internal static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsKnown(name))
        {
            throw new ArgumentException($"Unknown retriever '{name}'; use {string.Join(", ", Names)} (bm25 is keyword).", nameof(name));
        }

        var lower = name.Trim().ToLowerInvariant();
        return lower == "bm25" ? Keyword : lower;
    }

    /// <summary>Creates the retriever named <paramref name="name"/> over <paramref name="index"/>.</summary>
    /// <param name="index">The index.</param>
    /// <param name="name">One of <see cref="Names"/> (or <c>bm25</c>), or <see langword="null"/> for hybrid with a generator and keyword without.</param>
    /// <param name="generator">Embeds queries for dense and hybrid search, or <see langword="null"/>.</param>
    /// <param name="access">Access rules, or <see langword="null"/> for none.</param>
    /// <param name="hybrid">Fusion settings, or <see langword="null"/> for <see cref="DefaultFusion"/> with equal weights.</param>
    /// <returns>The retriever.</returns>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    /// <exception cref="InvalidOperationException">Dense or hybrid search is asked for without an embedding model.</exception>
    /// <exception cref="LlmAdaptException">The index was embedded with a different model than <paramref name="generator"/>.</exception>
    public static IRetriever Create(DocumentIndex index, string? name, IEmbeddingGenerator<string, Embedding<float>>? generator, RetrieverOptions? access = null, HybridOptions? hybrid = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        var kind = name is null ? (generator is null ? Keyword : Hybrid) : Normalize(name);
        if (kind != Keyword && generator is not null)
        {
            EnsureSameModel(index, generator);
        }

        return Compose(kind, new KeywordRetriever(index, access), generator is null ? null : new DenseRetriever(index, generator, access), access, hybrid);
    }

    /// <summary>
    /// Picks or fuses a keyword and a dense retriever over any store by the same names and defaults as
    /// <see cref="Create"/>: what a store other than <see cref="DocumentIndex"/> (PostgreSQL, a vector store) uses so
    /// its retrievers are named and fused alike.
    /// </summary>
    /// <param name="name">One of <see cref="Names"/> (or <c>bm25</c>), or <see langword="null"/> for hybrid when <paramref name="dense"/> is given and keyword otherwise.</param>
    /// <param name="keyword">The store's keyword retriever.</param>
    /// <param name="dense">The store's dense retriever, or <see langword="null"/> when there is no embedding model.</param>
    /// <param name="access">Access rules of the fused retriever, or <see langword="null"/> for none.</param>
    /// <param name="hybrid">Fusion settings, or <see langword="null"/> for <see cref="DefaultFusion"/> with equal weights.</param>
    /// <returns>The retriever.</returns>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    /// <exception cref="InvalidOperationException">Dense or hybrid search is asked for without a dense retriever.</exception>
    public static IRetriever Compose(string? name, IRetriever keyword, IRetriever? dense, RetrieverOptions? access = null, HybridOptions? hybrid = null)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        var kind = name is null ? (dense is null ? Keyword : Hybrid) : Normalize(name);
        if (kind != Keyword && dense is null)
        {
            throw new InvalidOperationException($"The '{kind}' retriever needs an IEmbeddingGenerator<string, Embedding<float>> (for example AddOnnxEmbeddings, or --embeddings default).");
        }

        return kind switch
        {
            Keyword => keyword,
            Dense => dense!,
            _ => new HybridRetriever([keyword, dense!], hybrid ?? new HybridOptions { Method = DefaultFusion }, access),
        };
    }

    /// <summary>
    /// Checks that queries will be embedded by the model the index's vectors came from (the index's
    /// <see cref="DocumentIndexOptions.EmbeddingModelId"/> against the generator's metadata); either unknown passes.
    /// </summary>
    /// <param name="index">The index.</param>
    /// <param name="generator">The query embedder.</param>
    /// <exception cref="LlmAdaptException">The two models differ; the message names both.</exception>
    public static void EnsureSameModel(DocumentIndex index, IEmbeddingGenerator<string, Embedding<float>> generator)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(generator);
        var indexed = index.Options.EmbeddingModelId;
        var actual = generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId;
        if (indexed is not null && actual is not null && !string.Equals(indexed, actual, StringComparison.Ordinal))
        {
            throw new LlmAdaptException($"The index was embedded with '{indexed}' but queries would be embedded with '{actual}': rebuild the index with the query model, or query with '{indexed}'.");
        }
    }
}
