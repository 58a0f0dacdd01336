namespace LlmAdapt.Retrieval.Indexes;

/// <summary>Keeps the k best (score, key) pairs seen, in a min-heap; ties go to the smaller key so results are stable.</summary>
internal struct TopK
{
    private readonly ScoredKey[] _heap;
    private int _count;

    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        _heap = new ScoredKey[k];
    }

    public readonly int Count => _count;

    public readonly bool IsFull => _count == _heap.Length;

    /// <summary>Gets the worst score kept, or negative infinity while the heap is not full.</summary>
    public readonly float Threshold => _count == _heap.Length ? _heap[0].Score : float.NegativeInfinity;

    public void Add(int key, float score)
    {
        if (_count < _heap.Length)
        {
            _heap[_count] = new ScoredKey(key, score);
            SiftUp(_count++);
        }
        else if (Better(new ScoredKey(key, score), _heap[0]))
        {
            _heap[0] = new ScoredKey(key, score);
            SiftDown(0);
        }
    }

    /// <summary>Returns the kept pairs, best first.</summary>
    public readonly ScoredKey[] ToSortedArray()
    {
        var result = _heap.AsSpan(0, _count).ToArray();
        Array.Sort(result, static (a, b) => Better(a, b) ? -1 : Better(b, a) ? 1 : 0);
        return result;
    }

    private static bool Better(ScoredKey a, ScoredKey b) => a.Score > b.Score || (a.Score == b.Score && a.Key < b.Key);

    private readonly void SiftUp(int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Better(_heap[parent], _heap[i]))
            {
                break;
            }

            (_heap[parent], _heap[i]) = (_heap[i], _heap[parent]);
            i = parent;
        }
    }

    private readonly void SiftDown(int i)
    {
        while (true)
        {
            var left = (2 * i) + 1;
            if (left >= _count)
            {
                return;
            }

            var worst = left;
            var right = left + 1;
            if (right < _count && Better(_heap[left], _heap[right]))
            {
                worst = right;
            }

            if (!Better(_heap[i], _heap[worst]))
            {
                return;
            }

            (_heap[i], _heap[worst]) = (_heap[worst], _heap[i]);
            i = worst;
        }
    }
}
