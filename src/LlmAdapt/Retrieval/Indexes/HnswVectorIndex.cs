using System.Numerics.Tensors;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// Approximate nearest-neighbour search over a hierarchical navigable small-world graph (Malkov and Yashunin):
/// logarithmic search over layers of links, neighbours chosen by the diversity heuristic. Scores are dot products.
/// Deleted or replaced vectors stay in the graph as waypoints but are never returned. Filters apply before ranking:
/// rejected nodes are walked through but never enter the results, and when the graph walk finds fewer than k
/// accepted vectors the search falls back to an exact scan over them.
/// </summary>
internal sealed class HnswVectorIndex : IVectorIndex
{
    [ThreadStatic]
    private static int[]? t_visited;

    [ThreadStatic]
    private static int t_generation;

    [ThreadStatic]
    private static NodeHeap? t_candidates;

    [ThreadStatic]
    private static NodeHeap? t_results;

    private readonly IndexLock _lock = new();
    private readonly Dictionary<int, int> _nodeOfKey = [];
    private readonly Random _random;
    private readonly double _levelFactor;
    private float[] _vectors = [];
    private int[] _keyOfNode = [];
    private int[][][] _links = [];
    private int _nodeCount;
    private int _entry = -1;
    private int _maxLevel = -1;

    /// <summary>Initializes an empty index.</summary>
    /// <param name="dimensions">The vectors' length; at least 1.</param>
    /// <param name="options">The graph parameters; validated here.</param>
    public HnswVectorIndex(int dimensions, HnswOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        options ??= new HnswOptions();
        options.Validate();
        Dimensions = dimensions;
        M = options.M;
        EfConstruction = options.EfConstruction;
        EfSearch = options.EfSearch;
        Seed = options.Seed;
        _random = new Random(options.Seed);
        _levelFactor = 1 / Math.Log(M);
    }

    /// <inheritdoc/>
    public int Dimensions { get; }

    /// <summary>Gets the links per node on upper layers.</summary>
    public int M { get; }

    /// <summary>Gets the candidate list size used while inserting.</summary>
    public int EfConstruction { get; }

    /// <summary>Gets or sets the candidate list size used while searching.</summary>
    public int EfSearch
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    }

    /// <summary>Gets the seed of the layer assignment.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public int Count
    {
        get
        {
            using (_lock.Read())
            {
                return _nodeOfKey.Count;
            }
        }
    }

    /// <inheritdoc/>
    public void Upsert(int key, ReadOnlySpan<float> vector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(key);
        VectorChecks.CheckLength(vector, Dimensions, nameof(vector));
        using (_lock.Write())
        {
            if (_nodeOfKey.TryGetValue(key, out var old))
            {
                _keyOfNode[old] = -1;
            }

            var node = AddNode(key, vector, RandomLevel());
            _nodeOfKey[key] = node;
            Link(node);
        }
    }

    /// <inheritdoc/>
    public bool Remove(int key)
    {
        using (_lock.Write())
        {
            if (!_nodeOfKey.Remove(key, out var node))
            {
                return false;
            }

            _keyOfNode[node] = -1;
            return true;
        }
    }

    /// <inheritdoc/>
    public ScoredKey[] Search(ReadOnlySpan<float> query, int topK, Func<int, bool>? accept = null)
    {
        VectorChecks.CheckLength(query, Dimensions, nameof(query));
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        using (_lock.Read())
        {
            if (_entry < 0 || _nodeOfKey.Count == 0)
            {
                return [];
            }

            var entry = _entry;
            var entryScore = Score(query, entry);
            for (var level = _maxLevel; level > 0; level--)
            {
                (entry, entryScore) = Greedy(query, entry, entryScore, level);
            }

            bool Accept(int node) => _keyOfNode[node] is var key && key >= 0 && (accept is null || accept(key));
            var found = SearchLayer(query, entry, entryScore, Math.Max(EfSearch, topK), 0, Accept);
            var top = new TopK(topK);
            foreach (var (node, score) in found)
            {
                top.Add(_keyOfNode[node], score);
            }

            if (top.Count < Math.Min(topK, _nodeOfKey.Count) && accept is not null)
            {
                top = new TopK(topK);
                for (var node = 0; node < _nodeCount; node++)
                {
                    if (Accept(node))
                    {
                        top.Add(_keyOfNode[node], Score(query, node));
                    }
                }
            }

            return top.ToSortedArray();
        }
    }

    /// <inheritdoc/>
    public bool TryGetVector(int key, Span<float> destination)
    {
        VectorChecks.CheckLength(destination, Dimensions, nameof(destination));
        using (_lock.Read())
        {
            if (!_nodeOfKey.TryGetValue(key, out var node))
            {
                return false;
            }

            VectorOf(node).CopyTo(destination);
            return true;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _lock.Dispose();

    internal void Write(BinaryWriter writer)
    {
        using (_lock.Read())
        {
            writer.Write(M);
            writer.Write(EfConstruction);
            writer.Write(EfSearch);
            writer.Write(Seed);
            writer.Write(_nodeCount);
            writer.Write(_entry);
            writer.Write(_maxLevel);
            for (var node = 0; node < _nodeCount; node++)
            {
                writer.Write(_keyOfNode[node]);
                foreach (var value in VectorOf(node))
                {
                    writer.Write(value);
                }

                var layers = _links[node];
                writer.Write(layers.Length);
                foreach (var links in layers)
                {
                    writer.Write(links[0]);
                    for (var i = 1; i <= links[0]; i++)
                    {
                        writer.Write(links[i]);
                    }
                }
            }
        }
    }

    internal static HnswVectorIndex Read(BinaryReader reader, int dimensions)
    {
        var options = new HnswOptions { M = reader.ReadInt32(), EfConstruction = reader.ReadInt32(), EfSearch = reader.ReadInt32(), Seed = reader.ReadInt32() };
        var index = new HnswVectorIndex(dimensions, options);
        var count = reader.ReadInt32();
        index._entry = reader.ReadInt32();
        index._maxLevel = reader.ReadInt32();
        index.EnsureCapacity(count);
        Span<float> vector = new float[dimensions];
        for (var node = 0; node < count; node++)
        {
            var key = reader.ReadInt32();
            for (var d = 0; d < dimensions; d++)
            {
                vector[d] = reader.ReadSingle();
            }

            var layerCount = reader.ReadInt32();
            if (layerCount < 1 || layerCount > 64)
            {
                throw new InvalidDataException($"HNSW node {node} claims {layerCount} layers.");
            }

            index.AddNode(key, vector, layerCount - 1);
            for (var level = 0; level < layerCount; level++)
            {
                var n = reader.ReadInt32();
                var links = index._links[node][level];
                if (n < 0 || n >= links.Length)
                {
                    throw new InvalidDataException($"HNSW node {node} has {n} links on layer {level}; at most {links.Length - 1} fit.");
                }

                links[0] = n;
                for (var i = 1; i <= n; i++)
                {
                    links[i] = reader.ReadInt32();
                    if ((uint)links[i] >= (uint)count)
                    {
                        throw new InvalidDataException($"HNSW node {node} links to node {links[i]} of {count}.");
                    }
                }
            }

            if (key >= 0)
            {
                index._nodeOfKey[key] = node;
            }
        }

        return index;
    }

    private int RandomLevel() => Math.Min(32, (int)(-Math.Log(1 - _random.NextDouble()) * _levelFactor));

    private int MaxLinks(int level) => level == 0 ? 2 * M : M;

    private ReadOnlySpan<float> VectorOf(int node) => _vectors.AsSpan(node * Dimensions, Dimensions);

    private float Score(ReadOnlySpan<float> query, int node) => TensorPrimitives.Dot(query, VectorOf(node));

    private void EnsureCapacity(int size)
    {
        if (size <= _keyOfNode.Length)
        {
            return;
        }

        var capacity = Math.Max(size, Math.Max(64, _keyOfNode.Length * 2));
        Array.Resize(ref _keyOfNode, capacity);
        Array.Resize(ref _links, capacity);
        Array.Resize(ref _vectors, checked(capacity * Dimensions));
    }

    private int AddNode(int key, ReadOnlySpan<float> vector, int level)
    {
        EnsureCapacity(_nodeCount + 1);
        var node = _nodeCount++;
        vector.CopyTo(_vectors.AsSpan(node * Dimensions, Dimensions));
        _keyOfNode[node] = key;
        var layers = new int[level + 1][];
        for (var l = 0; l <= level; l++)
        {
            layers[l] = new int[MaxLinks(l) + 1];
        }

        _links[node] = layers;
        return node;
    }

    private void Link(int node)
    {
        var level = _links[node].Length - 1;
        if (_entry < 0)
        {
            _entry = node;
            _maxLevel = level;
            return;
        }

        var query = VectorOf(node);
        var entry = _entry;
        var entryScore = Score(query, entry);
        for (var l = _maxLevel; l > level; l--)
        {
            (entry, entryScore) = Greedy(query, entry, entryScore, l);
        }

        for (var l = Math.Min(level, _maxLevel); l >= 0; l--)
        {
            var candidates = SearchLayer(query, entry, entryScore, EfConstruction, l, null);
            var selected = SelectNeighbours(candidates, M);
            var links = _links[node][l];
            links[0] = selected.Count;
            for (var i = 0; i < selected.Count; i++)
            {
                links[i + 1] = selected[i].Node;
                Connect(selected[i].Node, node, selected[i].Score, l);
            }

            (entry, entryScore) = candidates[0];
        }

        if (level > _maxLevel)
        {
            _maxLevel = level;
            _entry = node;
        }
    }

    // Adds 'node' to the links of 'from'; when full, keeps the most diverse set by the same heuristic.
    private void Connect(int from, int node, float score, int level)
    {
        var links = _links[from][level];
        var max = links.Length - 1;
        if (links[0] < max)
        {
            links[++links[0]] = node;
            return;
        }

        var fromVector = VectorOf(from);
        var candidates = new List<(int Node, float Score)>(max + 1) { (node, score) };
        for (var i = 1; i <= max; i++)
        {
            candidates.Add((links[i], Score(fromVector, links[i])));
        }

        candidates.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        var selected = SelectNeighbours(candidates, max);
        links[0] = selected.Count;
        for (var i = 0; i < selected.Count; i++)
        {
            links[i + 1] = selected[i].Node;
        }
    }

    // The heuristic of the HNSW paper: take a candidate only if it is closer to the base than to every neighbour
    // already taken, so links spread in different directions. Candidates arrive best first.
    private List<(int Node, float Score)> SelectNeighbours(List<(int Node, float Score)> candidates, int max)
    {
        var selected = new List<(int Node, float Score)>(max);
        foreach (var candidate in candidates)
        {
            if (selected.Count >= max)
            {
                break;
            }

            var keep = true;
            var vector = VectorOf(candidate.Node);
            foreach (var chosen in selected)
            {
                if (TensorPrimitives.Dot(vector, VectorOf(chosen.Node)) > candidate.Score)
                {
                    keep = false;
                    break;
                }
            }

            if (keep)
            {
                selected.Add(candidate);
            }
        }

        return selected;
    }

    private (int Node, float Score) Greedy(ReadOnlySpan<float> query, int entry, float entryScore, int level)
    {
        var changed = true;
        while (changed)
        {
            changed = false;
            var links = _links[entry][level];
            for (var i = 1; i <= links[0]; i++)
            {
                var score = Score(query, links[i]);
                if (score > entryScore)
                {
                    entryScore = score;
                    entry = links[i];
                    changed = true;
                }
            }
        }

        return (entry, entryScore);
    }

    // Best-first search of one layer. Every reachable node is explored in score order; only accepted nodes
    // (all nodes when accept is null) enter the results. Returns the results best first.
    private unsafe List<(int Node, float Score)> SearchLayer(ReadOnlySpan<float> query, int entry, float entryScore, int ef, int level, Func<int, bool>? accept)
    {
        var visited = t_visited;
        if (visited is null || visited.Length < _nodeCount)
        {
            visited = t_visited = new int[Math.Max(_keyOfNode.Length, 1024)];
            t_generation = 0;
        }

        if (++t_generation == int.MaxValue)
        {
            Array.Clear(visited);
            t_generation = 1;
        }

        var generation = t_generation;
        Span<int> pending = stackalloc int[(2 * M) + 1];
        var candidates = t_candidates ??= new NodeHeap();
        var results = t_results ??= new NodeHeap();
        candidates.Clear();
        results.Clear();
        visited[entry] = generation;
        candidates.Push(entry, -entryScore);
        if (accept is null || accept(entry))
        {
            results.Push(entry, entryScore);
        }

        while (candidates.Count > 0)
        {
            var (current, negative) = candidates.Pop();
            if (results.Count >= ef && -negative < results.TopKey)
            {
                break;
            }

            var links = _links[current];
            if (level >= links.Length)
            {
                continue;
            }

            // First mark the unvisited neighbours and ask the CPU to fetch their vectors, then score them: the
            // walk is bound by memory latency, and overlapping the fetches is what makes it fast.
            var layer = links[level];
            var pendingCount = 0;
            fixed (float* vectors = _vectors)
            {
                for (var i = 1; i <= layer[0]; i++)
                {
                    var next = layer[i];
                    if (visited[next] == generation)
                    {
                        continue;
                    }

                    visited[next] = generation;
                    pending[pendingCount++] = next;
                    if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
                    {
                        var start = vectors + ((long)next * Dimensions);
                        for (var offset = 0; offset < Dimensions; offset += 16)
                        {
                            System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + offset);
                        }
                    }
                }
            }

            for (var p = 0; p < pendingCount; p++)
            {
                var next = pending[p];
                var score = Score(query, next);
                if (results.Count < ef || score > results.TopKey)
                {
                    candidates.Push(next, -score);
                    if (accept is null || accept(next))
                    {
                        results.Push(next, score);
                        if (results.Count > ef)
                        {
                            results.Pop();
                        }
                    }
                }
            }
        }

        var list = new List<(int Node, float Score)>(results.Count);
        while (results.Count > 0)
        {
            list.Add(results.Pop());
        }

        list.Reverse();
        return list;
    }
}
