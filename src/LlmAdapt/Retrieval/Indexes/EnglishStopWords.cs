namespace LlmAdapt.Retrieval.Indexes;

/// <summary>English stop words: function words that carry little meaning for keyword search.</summary>
public static class EnglishStopWords
{
    /// <summary>Gets the default list: articles, conjunctions, prepositions, pronouns and auxiliary verbs.</summary>
    public static IReadOnlyList<string> Default { get; } =
    [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
        "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    ];
}
