namespace LlmAdapt.Retrieval;

/// <summary>One condition of a <see cref="RetrievalFilter"/>: the metadata value under <see cref="Key"/> is one of <see cref="Values"/>.</summary>
public sealed record MetadataCondition
{
    /// <summary>Initializes a condition that matches chunks whose value under <paramref name="key"/> is one of <paramref name="values"/>.</summary>
    /// <param name="key">The metadata key.</param>
    /// <param name="values">The accepted values; one value is an equality test.</param>
    /// <exception cref="ArgumentException">The key is empty or no value is given.</exception>
    public MetadataCondition(string key, IEnumerable<string> values)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(values);
        var set = new HashSet<string>(values, StringComparer.Ordinal);
        if (set.Count == 0)
        {
            throw new ArgumentException($"The condition on '{key}' accepts no value: give at least one.", nameof(values));
        }

        Key = key;
        Values = set;
    }

    /// <summary>Gets the metadata key.</summary>
    public string Key { get; }

    /// <summary>Gets the accepted values (ordinal comparison).</summary>
    public IReadOnlySet<string> Values { get; }

    /// <summary>Returns whether <paramref name="metadata"/> satisfies the condition.</summary>
    /// <param name="metadata">A chunk's metadata.</param>
    /// <returns><see langword="true"/> when the key is present with an accepted value.</returns>
    public bool IsMatch(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.TryGetValue(Key, out var value) && Values.Contains(value);
    }
}
