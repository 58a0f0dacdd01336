namespace LlmAdapt.Retrieval;

/// <summary>A source document before chunking.</summary>
public sealed record Document
{
    /// <summary>Gets the document's stable identifier, unique within an index.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the document's full text.</summary>
    public required string Text { get; init; }

    /// <summary>Gets where the document came from (a path or URL), used in citations.</summary>
    public string? Source { get; init; }

    /// <summary>Gets the document's title, when it has one.</summary>
    public string? Title { get; init; }

    /// <summary>Gets metadata that filters can match (equality and in-set, case-sensitive).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Gets the principals and groups allowed to see the document, or <see langword="null"/> when none is recorded.
    /// A retriever configured for access control shows a document without a list to nobody (fail-closed).
    /// </summary>
    public IReadOnlyList<string>? AllowedPrincipals { get; init; }
}
