namespace LlmAdapt.Retrieval.Indexes;

/// <summary>English stop words: function words that carry little meaning for keyword search.</summary>
public static class EnglishStopWords
{
    /// <summary>
    /// Gets the default list: pronouns, determiners, auxiliary and modal verbs, conjunctions, prepositions and common
    /// adverbs (the Snowball project's English list without contractions, since the analyzer drops apostrophes and
    /// "we'll" would become the word "well"). Question words such as "what" and "how" are on it, which helps
    /// natural-language queries.
    /// </summary>
    public static IReadOnlyList<string> Default { get; } =
    [
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself", "yourselves",
        "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they", "them", "their",
        "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these", "those", "am", "is", "are", "was",
        "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "would", "should",
        "could", "ought", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by",
        "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below",
        "to", "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then", "once", "here",
        "there", "when", "where", "why", "how", "all", "any", "both", "each", "few", "more", "most", "other", "some",
        "such", "no", "nor", "not", "only", "own", "same", "so", "than", "too", "very",
    ];
}
