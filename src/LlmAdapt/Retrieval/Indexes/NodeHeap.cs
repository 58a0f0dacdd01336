namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// A binary min-heap of (node, key) pairs over two parallel arrays, reused across searches on a thread; lighter than
/// <see cref="PriorityQueue{TElement, TPriority}"/> on the graph walk's hot path. Use key = -score for a max-heap.
/// </summary>
internal sealed class NodeHeap
{
    private int[] _nodes = new int[64];
    private float[] _keys = new float[64];

    public int Count { get; private set; }

    public int TopNode => _nodes[0];

    public float TopKey => _keys[0];

    public void Clear() => Count = 0;

    public void Push(int node, float key)
    {
        if (Count == _nodes.Length)
        {
            Array.Resize(ref _nodes, Count * 2);
            Array.Resize(ref _keys, Count * 2);
        }

        var i = Count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (_keys[parent] <= key)
            {
                break;
            }

            _nodes[i] = _nodes[parent];
            _keys[i] = _keys[parent];
            i = parent;
        }

        _nodes[i] = node;
        _keys[i] = key;
    }

    public (int Node, float Key) Pop()
    {
        var top = (_nodes[0], _keys[0]);
        var count = --Count;
        if (count > 0)
        {
            SiftDown(_nodes[count], _keys[count], count);
        }

        return top;
    }

    private void SiftDown(int node, float key, int count)
    {
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && _keys[child + 1] < _keys[child])
            {
                child++;
            }

            if (_keys[child] >= key)
            {
                break;
            }

            _nodes[i] = _nodes[child];
            _keys[i] = _keys[child];
            i = child;
        }

        _nodes[i] = node;
        _keys[i] = key;
    }
}
