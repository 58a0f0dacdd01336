namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// An in-memory Okapi BM25 inverted index over integer keys (small, dense, non-negative: slot numbers).
/// Supports add, update and delete while other threads search; searches run in parallel with each other.
/// </summary>
internal sealed class Bm25Index : IDisposable
{
    [ThreadStatic]
    private static float[]? t_scores;

    [ThreadStatic]
    private static int[]? t_touched;

    private readonly IndexLock _lock = new();
    private readonly Dictionary<string, int> _termIds = new(StringComparer.Ordinal);
    private readonly List<Postings> _postings = [];
    private DocEntry?[] _docs = [];
    private float[] _lengths = [];
    private long _totalLength;
    private int _count;

    /// <summary>Initializes an empty index.</summary>
    /// <param name="options">BM25 parameters; validated here.</param>
    /// <param name="analyzer">The analyzer for documents and queries; <see cref="TextAnalyzer.English"/> by default.</param>
    public Bm25Index(Bm25Options? options = null, TextAnalyzer? analyzer = null)
    {
        options ??= new Bm25Options();
        options.Validate();
        K1 = (float)options.K1;
        B = (float)options.B;
        Analyzer = analyzer ?? TextAnalyzer.English;
    }

    /// <summary>Gets the analyzer.</summary>
    public TextAnalyzer Analyzer { get; }

    /// <summary>Gets the term-frequency saturation.</summary>
    public float K1 { get; }

    /// <summary>Gets the length normalisation.</summary>
    public float B { get; }

    /// <summary>Gets the number of documents indexed.</summary>
    public int Count
    {
        get
        {
            using (_lock.Read())
            {
                return _count;
            }
        }
    }

    /// <summary>Gets the number of distinct terms ever indexed.</summary>
    public int TermCount => _termIds.Count;

    /// <summary>Adds <paramref name="text"/> under <paramref name="key"/>, replacing what the key held.</summary>
    /// <param name="key">A non-negative key.</param>
    /// <param name="text">The text to index.</param>
    public void Upsert(int key, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Upsert(key, Analyzer.Analyze(text));
    }

    /// <summary>Adds already analyzed <paramref name="terms"/> under <paramref name="key"/>, replacing what the key held.</summary>
    /// <param name="key">A non-negative key.</param>
    /// <param name="terms">The terms, with repeats.</param>
    public void Upsert(int key, IReadOnlyList<string> terms)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(key);
        ArgumentNullException.ThrowIfNull(terms);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var term in terms)
        {
            counts[term] = counts.GetValueOrDefault(term) + 1;
        }

        using (_lock.Write())
        {
            RemoveCore(key);
            EnsureCapacity(key + 1);
            var termIds = new int[counts.Count];
            var freqs = new int[counts.Count];
            var n = 0;
            foreach (var (term, tf) in counts)
            {
                if (!_termIds.TryGetValue(term, out var id))
                {
                    id = _postings.Count;
                    _termIds.Add(term, id);
                    _postings.Add(new Postings(term));
                }

                _postings[id].Add(key, tf);
                termIds[n] = id;
                freqs[n++] = tf;
            }

            _docs[key] = new DocEntry(termIds, freqs);
            _lengths[key] = terms.Count;
            _totalLength += terms.Count;
            _count++;
        }
    }

    /// <summary>Removes <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>Whether the key was indexed.</returns>
    public bool Remove(int key)
    {
        using (_lock.Write())
        {
            return RemoveCore(key);
        }
    }

    /// <summary>Returns how many terms <paramref name="query"/> has after analysis (0 for a query of only stop words).</summary>
    /// <param name="query">The query.</param>
    /// <returns>The number of terms.</returns>
    public int CountQueryTerms(string query) => Analyzer.Analyze(query).Count;

    /// <summary>
    /// Returns the <paramref name="topK"/> best keys for <paramref name="query"/> by BM25, best first. Keys that
    /// <paramref name="accept"/> rejects are dropped before ranking. A query with no terms left after analysis
    /// (only stop words or punctuation) matches nothing.
    /// </summary>
    /// <param name="query">The query text.</param>
    /// <param name="topK">How many keys to return at most; at least 1.</param>
    /// <param name="accept">Which keys may be returned, or <see langword="null"/> for all.</param>
    /// <returns>The keys and scores.</returns>
    public ScoredKey[] Search(string query, int topK, Func<int, bool>? accept = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var terms = Analyzer.Analyze(query);
        if (terms.Count == 0)
        {
            return [];
        }

        using (_lock.Read())
        {
            return SearchCore(terms, topK, accept);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _lock.Dispose();

    internal void Write(BinaryWriter writer)
    {
        using (_lock.Read())
        {
            writer.Write(K1);
            writer.Write(B);
            writer.Write(_docs.Length);
            for (var key = 0; key < _docs.Length; key++)
            {
                writer.Write(_docs[key] is null ? -1f : _lengths[key]);
            }

            writer.Write(_postings.Count);
            foreach (var postings in _postings)
            {
                writer.Write(postings.Term);
                writer.Write(postings.Count);
                for (var i = 0; i < postings.Count; i++)
                {
                    writer.Write(postings.Keys[i]);
                    writer.Write(postings.Freqs[i]);
                }
            }
        }
    }

    internal static Bm25Index Read(BinaryReader reader, TextAnalyzer analyzer)
    {
        var index = new Bm25Index(new Bm25Options { K1 = reader.ReadSingle(), B = reader.ReadSingle() }, analyzer);
        var capacity = reader.ReadInt32();
        index.EnsureCapacity(capacity);
        var termLists = new List<(int Term, int Tf)>?[capacity];
        for (var key = 0; key < capacity; key++)
        {
            var length = reader.ReadSingle();
            if (length >= 0)
            {
                index._lengths[key] = length;
                index._totalLength += (long)length;
                index._count++;
                termLists[key] = [];
            }
        }

        var termCount = reader.ReadInt32();
        for (var id = 0; id < termCount; id++)
        {
            var postings = new Postings(reader.ReadString());
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var key = reader.ReadInt32();
                var tf = reader.ReadInt32();
                if ((uint)key >= (uint)capacity || termLists[key] is not { } list)
                {
                    throw new InvalidDataException($"BM25 postings of '{postings.Term}' name key {key}, which is not indexed.");
                }

                postings.Add(key, tf);
                list.Add((id, tf));
            }

            index._termIds.Add(postings.Term, id);
            index._postings.Add(postings);
        }

        for (var key = 0; key < capacity; key++)
        {
            if (termLists[key] is { } list)
            {
                index._docs[key] = new DocEntry([.. list.Select(t => t.Term)], [.. list.Select(t => t.Tf)]);
            }
        }

        return index;
    }

    private ScoredKey[] SearchCore(List<string> terms, int topK, Func<int, bool>? accept)
    {
        if (_count == 0)
        {
            return [];
        }

        var scores = t_scores;
        if (scores is null || scores.Length < _docs.Length)
        {
            scores = t_scores = new float[Math.Max(_docs.Length, 1024)];
            t_touched = new int[scores.Length];
        }

        var touched = t_touched!;
        var touchedCount = 0;
        var n = (float)_count;
        var avgLength = Math.Max((float)_totalLength / _count, 1e-6f);
        var a = K1 * (1 - B);
        var c = K1 * B / avgLength;
        var lengths = _lengths;

        // Repeated query terms add up, as a Boolean query of repeated clauses does.
        terms.Sort(StringComparer.Ordinal);
        for (var t = 0; t < terms.Count;)
        {
            var term = terms[t];
            var queryTf = 1;
            while (++t < terms.Count && terms[t] == term)
            {
                queryTf++;
            }

            if (!_termIds.TryGetValue(term, out var id))
            {
                continue;
            }

            var postings = _postings[id];
            if (postings.Count == 0)
            {
                continue;
            }

            var idf = MathF.Log(1 + ((n - postings.Count + 0.5f) / (postings.Count + 0.5f)));
            var weight = idf * (K1 + 1) * queryTf;
            var keys = postings.Keys;
            var freqs = postings.Freqs;
            for (var i = 0; i < postings.Count; i++)
            {
                var key = keys[i];
                float tf = freqs[i];
                if (scores[key] == 0)
                {
                    touched[touchedCount++] = key;
                }

                scores[key] += weight * tf / (tf + a + (c * lengths[key]));
            }
        }

        var top = new TopK(topK);
        for (var i = 0; i < touchedCount; i++)
        {
            var key = touched[i];
            var score = scores[key];
            scores[key] = 0;
            if (score > top.Threshold && (accept is null || accept(key)))
            {
                top.Add(key, score);
            }
        }

        return top.ToSortedArray();
    }

    private bool RemoveCore(int key)
    {
        if ((uint)key >= (uint)_docs.Length || _docs[key] is not { } doc)
        {
            return false;
        }

        for (var i = 0; i < doc.TermIds.Length; i++)
        {
            _postings[doc.TermIds[i]].Remove(key);
        }

        _totalLength -= (long)_lengths[key];
        _lengths[key] = 0;
        _docs[key] = null;
        _count--;
        return true;
    }

    private void EnsureCapacity(int size)
    {
        if (size <= _docs.Length)
        {
            return;
        }

        var capacity = Math.Max(size, Math.Max(16, _docs.Length * 2));
        Array.Resize(ref _docs, capacity);
        Array.Resize(ref _lengths, capacity);
    }

    private sealed record DocEntry(int[] TermIds, int[] Freqs);

    private sealed class Postings(string term)
    {
        public string Term { get; } = term;

        public int[] Keys { get; private set; } = new int[2];

        public int[] Freqs { get; private set; } = new int[2];

        public int Count { get; private set; }

        public void Add(int key, int tf)
        {
            if (Count == Keys.Length)
            {
                var keys = Keys;
                var freqs = Freqs;
                Array.Resize(ref keys, Count * 2);
                Array.Resize(ref freqs, Count * 2);
                Keys = keys;
                Freqs = freqs;
            }

            Keys[Count] = key;
            Freqs[Count++] = tf;
        }

        public void Remove(int key)
        {
            var i = Array.IndexOf(Keys, key, 0, Count);
            if (i >= 0)
            {
                Count--;
                Keys[i] = Keys[Count];
                Freqs[i] = Freqs[Count];
            }
        }
    }
}
