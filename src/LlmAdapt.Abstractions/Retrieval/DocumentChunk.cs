namespace LlmAdapt.Retrieval;

/// <summary>A piece of a <see cref="Document"/>: the unit that is embedded, indexed and retrieved.</summary>
public sealed record DocumentChunk
{
    /// <summary>Gets the chunk's identifier, unique within an index (by convention <c>{documentId}#{index}</c>).</summary>
    public required string Id { get; init; }

    /// <summary>Gets the identifier of the document the chunk was cut from.</summary>
    public required string DocumentId { get; init; }

    /// <summary>Gets the chunk's text.</summary>
    public required string Text { get; init; }

    /// <summary>Gets the position of the chunk within its document, from 0.</summary>
    public int Index { get; init; }

    /// <summary>Gets the offset of the chunk's first character in the document's text.</summary>
    public int StartOffset { get; init; }

    /// <summary>Gets the offset one past the chunk's last character in the document's text.</summary>
    public int EndOffset { get; init; }

    /// <summary>Gets the chunk's length in tokens, counted by the tokenizer that cut it.</summary>
    public int TokenCount { get; init; }

    /// <summary>Gets where the document came from (a path or URL), used in citations.</summary>
    public string? Source { get; init; }

    /// <summary>Gets the document's title, when it has one.</summary>
    public string? Title { get; init; }

    /// <summary>Gets metadata inherited from the document plus what the chunker adds (for example a heading path).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Gets the principals and groups allowed to see the chunk, or <see langword="null"/> when none is recorded.
    /// A retriever configured for access control shows a chunk without a list to nobody (fail-closed).
    /// </summary>
    public IReadOnlyList<string>? AllowedPrincipals { get; init; }
}
