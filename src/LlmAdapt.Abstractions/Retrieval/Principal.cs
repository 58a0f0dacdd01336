namespace LlmAdapt.Retrieval;

/// <summary>Who is asking: a user identifier and the groups the user belongs to.</summary>
public sealed record Principal
{
    /// <summary>Initializes a principal.</summary>
    /// <param name="id">The user's identifier.</param>
    /// <param name="groups">The groups the user belongs to.</param>
    public Principal(string id, params IEnumerable<string> groups)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(groups);
        Id = id;
        Groups = [.. groups];
    }

    /// <summary>Gets the user's identifier.</summary>
    public string Id { get; }

    /// <summary>Gets the groups the user belongs to.</summary>
    public IReadOnlyList<string> Groups { get; }

    /// <summary>Returns whether the principal may see something whose access list is <paramref name="allowed"/>.</summary>
    /// <param name="allowed">The allowed principals and groups; <see langword="null"/> means none is recorded, which allows nobody.</param>
    /// <returns><see langword="true"/> when the principal's id or one of its groups is in the list.</returns>
    public bool CanSee(IReadOnlyList<string>? allowed)
    {
        if (allowed is null)
        {
            return false;
        }

        foreach (var entry in allowed)
        {
            if (string.Equals(entry, Id, StringComparison.Ordinal))
            {
                return true;
            }

            foreach (var group in Groups)
            {
                if (string.Equals(entry, group, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
