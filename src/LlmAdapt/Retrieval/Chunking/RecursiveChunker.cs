using LlmAdapt.Tokens;

namespace LlmAdapt.Retrieval.Chunking;

/// <summary>
/// Token-aware recursive splitting for plain text: paragraphs, then lines, then sentences, then words, then token
/// boundaries, so chunks break at the most natural boundary that keeps them within <see cref="ChunkerOptions.MaxTokens"/>;
/// consecutive chunks share up to <see cref="ChunkerOptions.OverlapTokens"/>. Tokens are counted by the given counter.
/// </summary>
public sealed class RecursiveChunker : IChunker
{
    private readonly SpanSplitter _splitter;

    /// <summary>Initializes the chunker.</summary>
    /// <param name="counter">Counts tokens (use the embedding model's or the chat model's tokenizer).</param>
    /// <param name="options">Size limits; validated here.</param>
    public RecursiveChunker(TokenCounter counter, ChunkerOptions? options = null)
        => _splitter = SpanSplitter.Create(counter, options);

    /// <inheritdoc/>
    public IReadOnlyList<DocumentChunk> Chunk(Document document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var pieces = new List<(int Start, int End)>();
        _splitter.Split(document.Text, 0, document.Text.Length, pieces);
        var spans = _splitter.Merge(document.Text, pieces);
        return [.. spans.Select((s, i) => ChunkFactory.Create(document, i, s.Start, s.End, _splitter.Count(document.Text, s.Start, s.End), null))];
    }
}
