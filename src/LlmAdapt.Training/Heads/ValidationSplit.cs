namespace LlmAdapt.Training.Heads;

/// <summary>How <see cref="TaskHeadTrainer"/> holds out validation examples when the request has no validation set.</summary>
public enum ValidationSplit
{
    /// <summary>A random share of each class.</summary>
    Stratified,

    /// <summary>
    /// Whole source texts: each text goes to the same side as the longest training text it is a run of words of, so a
    /// sentence and all its labelled phrases (as in SST-2) are either all trained on or all held out. Use it for
    /// phrase-level data; a random split there lets validation reward memorised phrases.
    /// </summary>
    BySourceText,
}
