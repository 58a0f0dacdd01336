using LlmAdapt.Training.Internal;

namespace LlmAdapt.Training.Heads;

/// <summary>What a saved head folder (a <see cref="TextClassifier"/> or a reward model) says about itself, read without loading its weights.</summary>
public static class SavedHead
{
    /// <summary>
    /// Reads the embedding model a saved head was trained on (its <c>manifest.json</c>), so the same encoder (and its
    /// features: pooled layers, pooling, normalisation) can be opened before the head is loaded.
    /// </summary>
    /// <param name="path">The head folder.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The embedding model's identity, or <see langword="null"/> when the folder holds no manifest.</returns>
    /// <exception cref="ModelLoadException">The manifest is malformed; the message names the file.</exception>
    public static async Task<string?> ReadEmbeddingModelAsync(string path, CancellationToken cancellationToken = default)
        => (await HeadFiles.TryReadManifestAsync(path, cancellationToken).ConfigureAwait(false))?.EmbeddingModel;
}
