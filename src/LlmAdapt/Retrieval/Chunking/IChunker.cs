namespace LlmAdapt.Retrieval.Chunking;

/// <summary>Cuts a document into chunks small enough to embed and to fit in a prompt.</summary>
public interface IChunker
{
    /// <summary>Cuts <paramref name="document"/> into chunks, in document order; a document with no text gives none.</summary>
    /// <param name="document">The document.</param>
    /// <returns>The chunks, each with its source, offsets, token count, metadata and access list.</returns>
    IReadOnlyList<DocumentChunk> Chunk(Document document);
}
