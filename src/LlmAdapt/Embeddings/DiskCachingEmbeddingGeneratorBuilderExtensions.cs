using LlmAdapt.Embeddings;

namespace Microsoft.Extensions.AI;

/// <summary>Adds <see cref="DiskCachingEmbeddingGenerator"/> to an embedding pipeline.</summary>
public static class DiskCachingEmbeddingGeneratorBuilderExtensions
{
    /// <summary>
    /// Keeps every embedding of the pipeline's inner generator on disk, keyed by the model's identity and the text, so
    /// a corpus or a dataset is embedded once across runs.
    /// </summary>
    /// <param name="builder">The embedding pipeline.</param>
    /// <param name="directory">The cache folder, or <see langword="null"/> for <see cref="DiskCachingEmbeddingGenerator.DefaultDirectory"/>.</param>
    /// <param name="modelId">
    /// The key's model identity, or <see langword="null"/> for the inner generator's metadata; give one whenever the
    /// vectors depend on more than the model (for example its arithmetic precision).
    /// </param>
    /// <returns>The builder, for chaining.</returns>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> UseDiskCache(this EmbeddingGeneratorBuilder<string, Embedding<float>> builder, string? directory = null, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use(inner => new DiskCachingEmbeddingGenerator(inner, directory ?? DiskCachingEmbeddingGenerator.DefaultDirectory, modelId));
    }
}
