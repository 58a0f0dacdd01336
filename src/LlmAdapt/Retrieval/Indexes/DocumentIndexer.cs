using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>Embeds chunks in batches (when a model is given) and adds them to a <see cref="DocumentIndex"/>, reporting progress.</summary>
public static class DocumentIndexer
{
    /// <summary>
    /// Returns the text a chunk is embedded from: its title, its heading path (less a leading title already given),
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
    /// <param name="progress">Receives the number of chunks added so far.</param>
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
        for (var start = 0; start < chunks.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = chunks.Skip(start).Take(batchSize).ToList();
            if (generator is null)
            {
                batch.ForEach(c => index.Upsert(c));
            }
            else
            {
                var embeddings = await generator.GenerateAsync(batch.Select(TextForEmbedding), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (embeddings.Count != batch.Count)
                {
                    throw new LlmAdaptException($"The embedding model returned {embeddings.Count} embeddings for {batch.Count} chunks.");
                }

                for (var i = 0; i < batch.Count; i++)
                {
                    index.Upsert(batch[i], embeddings[i].Vector.Span);
                }
            }

            progress?.Report(start + batch.Count);
        }
    }
}
