using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>Embeds chunks in batches (when a model is given) and adds them to a <see cref="DocumentIndex"/>, reporting progress.</summary>
public static class DocumentIndexer
{
    /// <summary>
    /// Returns the text a chunk is embedded from, and keyword-indexed from when <see cref="DocumentIndexOptions.IndexTitles"/>
    /// is set (the one rule for both): its title (left out when the heading path already starts with it), its heading path,
    /// then its text. The title always comes first, as the BEIR benchmarks embed title + text, even when the text
    /// repeats it: a repeated title weighs more, which suits short, title-led passages.
    /// </summary>
    /// <param name="chunk">The chunk.</param>
    /// <returns>The text to embed.</returns>
    public static string TextForEmbedding(DocumentChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var parts = new List<string>(3);
        var heading = chunk.Metadata.TryGetValue(DocumentIndex.HeadingPathKey, out var path) ? path : null;
        if (!string.IsNullOrWhiteSpace(chunk.Title) && (heading is null || !heading.StartsWith(chunk.Title, StringComparison.Ordinal)))
        {
            parts.Add(chunk.Title);
        }

        if (!string.IsNullOrWhiteSpace(heading))
        {
            parts.Add(heading);
        }

        parts.Add(chunk.Text);
        return string.Join('\n', parts);
    }

    /// <summary>Adds <paramref name="chunks"/> to <paramref name="index"/>, embedding them first when <paramref name="generator"/> is given.</summary>
    /// <param name="index">The index.</param>
    /// <param name="chunks">The chunks.</param>
    /// <param name="generator">The embedding model, or <see langword="null"/> for a keyword-only index.</param>
    /// <param name="batchSize">Chunks per embedding call; at least 1.</param>
    /// <param name="progress">Receives the number of chunks embedded (or, without a model, added) so far.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>A task that completes when every chunk is in the index.</returns>
    public static async Task AddAsync(
        DocumentIndex index,
        IReadOnlyList<DocumentChunk> chunks,
        IEmbeddingGenerator<string, Embedding<float>>? generator = null,
        int batchSize = 64,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (generator is null)
        {
            for (var i = 0; i < chunks.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                index.Upsert(chunks[i]);
                if ((i + 1) % batchSize == 0 || i == chunks.Count - 1)
                {
                    progress?.Report(i + 1);
                }
            }

            return;
        }

        var vectors = await EmbedAsync(chunks, generator, batchSize, progress, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < chunks.Count; i++)
        {
            index.Upsert(chunks[i], vectors[i].Span);
        }
    }

    /// <summary>
    /// Embeds <paramref name="chunks"/> (each by <see cref="TextForEmbedding"/>) in batches, for a store that is not a
    /// <see cref="DocumentIndex"/> or for vectors kept elsewhere.
    /// </summary>
    /// <param name="chunks">The chunks.</param>
    /// <param name="generator">The embedding model.</param>
    /// <param name="batchSize">Chunks per embedding call; at least 1.</param>
    /// <param name="progress">Receives the number of chunks embedded so far.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>One embedding per chunk, in order.</returns>
    /// <exception cref="LlmAdaptException">The model returned a different number of embeddings than it was given texts.</exception>
    public static async Task<IReadOnlyList<ReadOnlyMemory<float>>> EmbedAsync(
        IReadOnlyList<DocumentChunk> chunks,
        IEmbeddingGenerator<string, Embedding<float>> generator,
        int batchSize = 64,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var vectors = new List<ReadOnlyMemory<float>>(chunks.Count);
        for (var start = 0; start < chunks.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = chunks.Skip(start).Take(batchSize).ToList();
            var embeddings = await generator.GenerateAsync(batch.Select(TextForEmbedding), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (embeddings.Count != batch.Count)
            {
                throw new LlmAdaptException($"The embedding model returned {embeddings.Count} embeddings for {batch.Count} chunks.");
            }

            vectors.AddRange(embeddings.Select(e => e.Vector));
            progress?.Report(start + batch.Count);
        }

        return vectors;
    }
}
