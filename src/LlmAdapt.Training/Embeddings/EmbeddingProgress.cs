namespace LlmAdapt.Training.Embeddings;

/// <summary>How far embedding the distinct texts of a dataset has got.</summary>
/// <param name="Completed">Distinct texts embedded so far (from the cache or the encoder).</param>
/// <param name="Total">Distinct texts to embed.</param>
public sealed record EmbeddingProgress(int Completed, int Total);
