namespace LlmAdapt.Retrieval;

/// <summary>A query to an <see cref="IRetriever"/>.</summary>
public sealed record RetrievalRequest
{
    private readonly int _topK = 10;

    /// <summary>Gets the query text.</summary>
    public required string Query { get; init; }

    /// <summary>Gets how many chunks to return at most. Must be at least 1; the default is 10.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is 0 or less.</exception>
    public int TopK
    {
        get => _topK;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(TopK));
            _topK = value;
        }
    }

    /// <summary>Gets the metadata filter applied before ranking, or <see langword="null"/> for none.</summary>
    public RetrievalFilter? Filter { get; init; }

    /// <summary>Gets who is asking; required by retrievers configured for access control.</summary>
    public Principal? Principal { get; init; }
}
