namespace LlmAdapt.Retrieval;

/// <summary>Metadata conditions a chunk must all satisfy to be retrieved. Applied inside the index, before ranking.</summary>
public sealed record RetrievalFilter
{
    /// <summary>Gets the conditions; a chunk passes when it satisfies every one.</summary>
    public IReadOnlyList<MetadataCondition> Conditions { get; init; } = [];

    /// <summary>Creates a filter on one key being equal to one value.</summary>
    /// <param name="key">The metadata key.</param>
    /// <param name="value">The required value.</param>
    /// <returns>The filter.</returns>
    public static RetrievalFilter Equal(string key, string value) => new() { Conditions = [new MetadataCondition(key, [value])] };

    /// <summary>Creates a filter on one key having one of several values.</summary>
    /// <param name="key">The metadata key.</param>
    /// <param name="values">The accepted values.</param>
    /// <returns>The filter.</returns>
    public static RetrievalFilter In(string key, params IEnumerable<string> values) => new() { Conditions = [new MetadataCondition(key, values)] };

    /// <summary>Returns a filter that also requires <paramref name="condition"/>.</summary>
    /// <param name="condition">The added condition.</param>
    /// <returns>A new filter.</returns>
    public RetrievalFilter And(MetadataCondition condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return new() { Conditions = [.. Conditions, condition] };
    }

    /// <summary>Returns whether <paramref name="metadata"/> satisfies every condition.</summary>
    /// <param name="metadata">A chunk's metadata.</param>
    /// <returns><see langword="true"/> when every condition holds.</returns>
    public bool IsMatch(IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var condition in Conditions)
        {
            if (!condition.IsMatch(metadata))
            {
                return false;
            }
        }

        return true;
    }
}
