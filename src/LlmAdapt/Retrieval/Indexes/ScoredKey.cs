namespace LlmAdapt.Retrieval.Indexes;

/// <summary>A key an index returned with its score; higher scores are better.</summary>
/// <param name="Key">The key the item was added under.</param>
/// <param name="Score">The score.</param>
internal readonly record struct ScoredKey(int Key, float Score);
