using System.Numerics.Tensors;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// Exact vector search: vectors live in one contiguous float32 array and a query is a SIMD dot product against every
/// row, with the best k kept in a heap. The default for indexes up to a few hundred thousand vectors.
/// </summary>
internal sealed class FlatVectorIndex : IVectorIndex
{
    private readonly IndexLock _lock = new();
    private float[] _data = [];
    private bool[] _alive = [];
    private int _count;
    private int _highWater;

    /// <summary>Initializes an empty index.</summary>
    /// <param name="dimensions">The vectors' length; at least 1.</param>
    public FlatVectorIndex(int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        Dimensions = dimensions;
    }

    /// <inheritdoc/>
    public int Dimensions { get; }

    /// <inheritdoc/>
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc/>
    public void Upsert(int key, ReadOnlySpan<float> vector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(key);
        VectorChecks.CheckLength(vector, Dimensions, nameof(vector));
        using (_lock.Write())
        {
            if (key >= _alive.Length)
            {
                var capacity = Math.Max(key + 1, Math.Max(64, _alive.Length * 2));
                Array.Resize(ref _alive, capacity);
                Array.Resize(ref _data, checked(capacity * Dimensions));
            }

            vector.CopyTo(_data.AsSpan(key * Dimensions, Dimensions));
            if (!_alive[key])
            {
                _alive[key] = true;
                _count++;
            }

            _highWater = Math.Max(_highWater, key + 1);
        }
    }

    /// <inheritdoc/>
    public bool Remove(int key)
    {
        using (_lock.Write())
        {
            if ((uint)key >= (uint)_alive.Length || !_alive[key])
            {
                return false;
            }

            _alive[key] = false;
            _count--;
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
            var top = new TopK(topK);
            var dims = Dimensions;
            var data = _data.AsSpan(0, _highWater * dims);
            var alive = _alive;
            for (var key = 0; key < _highWater; key++)
            {
                if (!alive[key] || (accept is not null && !accept(key)))
                {
                    continue;
                }

                var score = TensorPrimitives.Dot(data.Slice(key * dims, dims), query);
                if (score > top.Threshold)
                {
                    top.Add(key, score);
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
            if ((uint)key >= (uint)_alive.Length || !_alive[key])
            {
                return false;
            }

            _data.AsSpan(key * Dimensions, Dimensions).CopyTo(destination);
            return true;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _lock.Dispose();
}
