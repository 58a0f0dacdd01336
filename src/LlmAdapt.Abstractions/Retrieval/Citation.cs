namespace LlmAdapt.Retrieval;

/// <summary>Where a retrieved passage came from, precise enough to show the user.</summary>
/// <param name="DocumentId">The document's identifier.</param>
/// <param name="ChunkId">The chunk's identifier.</param>
/// <param name="Source">The document's path or URL, when known.</param>
/// <param name="Title">The document's title, when known.</param>
/// <param name="StartOffset">The offset of the passage's first character in the document.</param>
/// <param name="EndOffset">The offset one past the passage's last character.</param>
public sealed record Citation(string DocumentId, string ChunkId, string? Source, string? Title, int StartOffset, int EndOffset)
{
    /// <summary>Creates the citation of <paramref name="chunk"/>.</summary>
    /// <param name="chunk">The chunk.</param>
    /// <returns>The citation.</returns>
    public static Citation For(DocumentChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return new(chunk.DocumentId, chunk.Id, chunk.Source, chunk.Title, chunk.StartOffset, chunk.EndOffset);
    }
}
