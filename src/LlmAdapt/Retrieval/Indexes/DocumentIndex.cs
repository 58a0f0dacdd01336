using LlmAdapt.Diagnostics;
namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// The embedded default index: chunks with their metadata and access lists, a BM25 index over their text and,
/// once the first embedding arrives, a vector index (exact or HNSW). Metadata filters and access control are
/// applied inside the indexes, before ranking. Thread-safe: searches run in parallel; writes are exclusive.
/// Save and load it with <see cref="Persistence.DocumentIndexFile"/>.
/// </summary>
public sealed class DocumentIndex : IDisposable
{
    /// <summary>The metadata key under which chunkers record a chunk's heading path.</summary>
    public const string HeadingPathKey = Chunking.MarkdownChunker.HeadingPathKey;

    private readonly IndexLock _lock = new();
    private readonly Dictionary<string, int> _slotOfChunk = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<int>> _slotsOfDocument = new(StringComparer.Ordinal);
    private readonly Stack<int> _freeSlots = new();
    private DocumentChunk?[] _chunks = [];
    private int _slotCount;

    /// <summary>Initializes an empty index.</summary>
    /// <param name="options">How to index and guard chunks; validated here.</param>
    public DocumentIndex(DocumentIndexOptions? options = null)
    {
        Options = options ?? new DocumentIndexOptions();
        Options.Validate();
        Keyword = new Bm25Index(Options.Bm25);
    }

    internal DocumentIndex(DocumentIndexOptions options, Bm25Index keyword, IVectorIndex? vectors)
    {
        Options = options;
        Keyword = keyword;
        Vectors = vectors;
    }

    /// <summary>Gets the options.</summary>
    public DocumentIndexOptions Options { get; }

    /// <summary>Gets the number of chunks.</summary>
    public int Count
    {
        get
        {
            using (_lock.Read())
            {
                return _slotOfChunk.Count;
            }
        }
    }

    /// <summary>Gets the embeddings' length, or <see langword="null"/> before the first embedding.</summary>
    public int? Dimensions => Vectors?.Dimensions;

    internal Bm25Index Keyword { get; }

    internal IVectorIndex? Vectors { get; private set; }

    internal int SlotCount => _slotCount;

    /// <summary>Adds <paramref name="chunk"/>, replacing a chunk with the same id, with its embedding when it has one.</summary>
    /// <param name="chunk">The chunk.</param>
    /// <param name="embedding">The chunk's embedding, or empty for none (keyword search only).</param>
    /// <exception cref="ArgumentException">The embedding's length differs from the index's.</exception>
    public void Upsert(DocumentChunk chunk, ReadOnlySpan<float> embedding = default)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentException.ThrowIfNullOrEmpty(chunk.Id, nameof(chunk));
        float[]? vector = null;
        if (!embedding.IsEmpty)
        {
            if (Vectors is { } existing && existing.Dimensions != embedding.Length)
            {
                throw new ArgumentException($"Chunk '{chunk.Id}' has a {embedding.Length}-dimensional embedding but the index holds {existing.Dimensions}-dimensional ones.", nameof(embedding));
            }

            vector = embedding.ToArray();
            if (Options.NormalizeVectors)
            {
                VectorChecks.Normalize(vector);
            }
        }

        var terms = Keyword.Analyzer.Analyze(KeywordText(chunk));
        using (_lock.Write())
        {
            if (!_slotOfChunk.TryGetValue(chunk.Id, out var slot))
            {
                slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _slotCount++;
                if (slot >= _chunks.Length)
                {
                    Array.Resize(ref _chunks, Math.Max(16, _chunks.Length * 2));
                }

                _slotOfChunk[chunk.Id] = slot;
            }
            else if (_chunks[slot] is { } previous)
            {
                ForgetDocumentSlot(previous.DocumentId, slot);
            }

            _chunks[slot] = chunk;
            if (!_slotsOfDocument.TryGetValue(chunk.DocumentId, out var slots))
            {
                _slotsOfDocument[chunk.DocumentId] = slots = [];
            }

            slots.Add(slot);
            Keyword.Upsert(slot, terms);
            if (vector is not null)
            {
                Vectors ??= Options.VectorIndex == VectorIndexKind.Hnsw
                    ? new HnswVectorIndex(vector.Length, Options.Hnsw)
                    : new FlatVectorIndex(vector.Length);
                Vectors.Upsert(slot, vector);
            }
            else
            {
                Vectors?.Remove(slot);
            }
        }
    }

    /// <summary>Removes the chunk with id <paramref name="chunkId"/>.</summary>
    /// <param name="chunkId">The chunk's id.</param>
    /// <returns>Whether the chunk was in the index.</returns>
    public bool Remove(string chunkId)
    {
        ArgumentNullException.ThrowIfNull(chunkId);
        using (_lock.Write())
        {
            return RemoveCore(chunkId);
        }
    }

    /// <summary>Removes every chunk of the document <paramref name="documentId"/>.</summary>
    /// <param name="documentId">The document's id.</param>
    /// <returns>How many chunks were removed.</returns>
    public int RemoveDocument(string documentId)
    {
        ArgumentNullException.ThrowIfNull(documentId);
        using (_lock.Write())
        {
            if (!_slotsOfDocument.TryGetValue(documentId, out var slots))
            {
                return 0;
            }

            var ids = slots.Select(s => _chunks[s]!.Id).ToList();
            foreach (var id in ids)
            {
                RemoveCore(id);
            }

            return ids.Count;
        }
    }

    /// <summary>Returns the chunk with id <paramref name="chunkId"/>, or <see langword="null"/>.</summary>
    /// <param name="chunkId">The chunk's id.</param>
    /// <returns>The chunk.</returns>
    public DocumentChunk? Find(string chunkId)
    {
        using (_lock.Read())
        {
            return _slotOfChunk.TryGetValue(chunkId, out var slot) ? _chunks[slot] : null;
        }
    }

    /// <summary>Returns a snapshot of every chunk.</summary>
    /// <returns>The chunks, in slot order.</returns>
    public IReadOnlyList<DocumentChunk> GetChunks()
    {
        using (_lock.Read())
        {
            return [.. _chunks.Take(_slotCount).OfType<DocumentChunk>()];
        }
    }

    /// <summary>Copies the stored embedding of a chunk (unit length when <see cref="DocumentIndexOptions.NormalizeVectors"/>).</summary>
    /// <param name="chunkId">The chunk's id.</param>
    /// <returns>The embedding, or <see langword="null"/> when the chunk has none.</returns>
    public float[]? GetEmbedding(string chunkId)
    {
        using (_lock.Read())
        {
            if (Vectors is null || !_slotOfChunk.TryGetValue(chunkId, out var slot))
            {
                return null;
            }

            var vector = new float[Vectors.Dimensions];
            return Vectors.TryGetVector(slot, vector) ? vector : null;
        }
    }

    /// <summary>Returns the chunks that best match <paramref name="query"/> by BM25.</summary>
    /// <param name="query">The query text; one of only stop words matches nothing.</param>
    /// <param name="topK">How many chunks at most; at least 1.</param>
    /// <param name="filter">Metadata conditions every result satisfies, or <see langword="null"/>.</param>
    /// <param name="principal">Who is asking; results are limited to what the principal may see.</param>
    /// <returns>The chunks, best first, ranked from 1.</returns>
    /// <exception cref="AccessDeniedException">Access control is required and no principal is given.</exception>
    public IReadOnlyList<RetrievedChunk> SearchKeyword(string query, int topK, RetrievalFilter? filter = null, Principal? principal = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var gate = RetrievalTelemetry.CountRejections(Gate(filter, principal), out var rejected);
        try
        {
            using (_lock.Read())
            {
                return ToResults(Keyword.Search(query, topK, gate), gate);
            }
        }
        finally
        {
            rejected?.Record();
        }
    }

    /// <summary>Returns the chunks whose embeddings are most similar to <paramref name="query"/>.</summary>
    /// <param name="query">The query's embedding.</param>
    /// <param name="topK">How many chunks at most; at least 1.</param>
    /// <param name="filter">Metadata conditions every result satisfies, or <see langword="null"/>.</param>
    /// <param name="principal">Who is asking; results are limited to what the principal may see.</param>
    /// <returns>The chunks, best first, ranked from 1; empty when the index holds no embeddings.</returns>
    /// <exception cref="AccessDeniedException">Access control is required and no principal is given.</exception>
    /// <exception cref="ArgumentException">The query's length differs from the index's embeddings.</exception>
    public IReadOnlyList<RetrievedChunk> SearchVector(ReadOnlySpan<float> query, int topK, RetrievalFilter? filter = null, Principal? principal = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var gate = RetrievalTelemetry.CountRejections(Gate(filter, principal), out var rejected);
        try
        {
            using (_lock.Read())
            {
                if (Vectors is null)
                {
                    return [];
                }

                Span<float> normalized = query.Length <= 1024 ? stackalloc float[query.Length] : new float[query.Length];
                query.CopyTo(normalized);
                if (Options.NormalizeVectors)
                {
                    VectorChecks.Normalize(normalized);
                }

                return ToResults(Vectors.Search(normalized, topK, gate), gate);
            }
        }
        finally
        {
            rejected?.Record();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Keyword.Dispose();
        Vectors?.Dispose();
        _lock.Dispose();
    }

    internal DocumentChunk? ChunkAt(int slot) => (uint)slot < (uint)_slotCount ? _chunks[slot] : null;

    // Restores a chunk into a given slot while loading a saved index (the postings and vectors refer to slots).
    internal void Restore(int slotCount, IEnumerable<(int Slot, DocumentChunk Chunk)> chunks)
    {
        _chunks = new DocumentChunk?[Math.Max(slotCount, 16)];
        _slotCount = slotCount;
        foreach (var (slot, chunk) in chunks)
        {
            _chunks[slot] = chunk;
            _slotOfChunk[chunk.Id] = slot;
            if (!_slotsOfDocument.TryGetValue(chunk.DocumentId, out var slots))
            {
                _slotsOfDocument[chunk.DocumentId] = slots = [];
            }

            slots.Add(slot);
        }

        for (var slot = slotCount - 1; slot >= 0; slot--)
        {
            if (_chunks[slot] is null)
            {
                _freeSlots.Push(slot);
            }
        }
    }

    // Holds the index still while it is saved (DocumentIndexFile).
    internal IndexLock.Scope ReadLock() => _lock.Read();

    // The text BM25 indexes: with titles, the text the chunk is embedded from (title and heading path first, by the one
    // rule in DocumentIndexer.TextForEmbedding); the PostgreSQL store's full text uses it too.
    internal static string KeywordTextOf(DocumentChunk chunk, bool titles) => titles ? DocumentIndexer.TextForEmbedding(chunk) : chunk.Text;

    private string KeywordText(DocumentChunk chunk) => KeywordTextOf(chunk, Options.IndexTitles);

    private Func<int, bool>? Gate(RetrievalFilter? filter, Principal? principal)
    {
        if (principal is null && Options.RequireAccessControl)
        {
            throw new AccessDeniedException("This index requires access control: the search must name a principal.");
        }

        if (principal is null && (filter is null || filter.Conditions.Count == 0))
        {
            return null;
        }

        return slot =>
        {
            var chunk = ChunkAt(slot);
            return chunk is not null
                && (filter is null || filter.IsMatch(chunk.Metadata))
                && (principal is null || principal.CanSee(chunk.AllowedPrincipals));
        };
    }

    private List<RetrievedChunk> ToResults(ScoredKey[] keys, Func<int, bool>? gate)
    {
        var results = new List<RetrievedChunk>(keys.Length);
        foreach (var (slot, score) in keys)
        {
            // Checked again on the way out: a result that fails the gate is never returned.
            if (ChunkAt(slot) is { } chunk && (gate is null || gate(slot)))
            {
                results.Add(new RetrievedChunk { Chunk = chunk, Score = score, Rank = results.Count + 1 });
            }
        }

        return results;
    }

    private bool RemoveCore(string chunkId)
    {
        if (!_slotOfChunk.Remove(chunkId, out var slot))
        {
            return false;
        }

        ForgetDocumentSlot(_chunks[slot]!.DocumentId, slot);
        _chunks[slot] = null;
        Keyword.Remove(slot);
        Vectors?.Remove(slot);
        _freeSlots.Push(slot);
        return true;
    }

    private void ForgetDocumentSlot(string documentId, int slot)
    {
        if (_slotsOfDocument.TryGetValue(documentId, out var slots) && slots.Remove(slot) && slots.Count == 0)
        {
            _slotsOfDocument.Remove(documentId);
        }
    }
}
