using System.Numerics.Tensors;

namespace LlmAdapt.Generation;

/// <summary>
/// Chooses the next id from one row of logits: repetition penalty, then greedy arg-max or temperature, top-k and
/// top-p sampling. Scratch arrays are sized once per request (vocabulary-long), so a step allocates nothing. The one
/// sampler of LlmAdapt: ONNX decoders (<c>LlmAdapt.Onnx</c>'s DecodeRun) and the training engine's checkpoints
/// (<c>LlmAdapt.Training</c>'s DecoderSampler) both draw through it, so the same settings and seed mean the same rule.
/// </summary>
internal sealed class TokenSampler
{
    private readonly double _temperature;
    private readonly int _topK;
    private readonly double _topP;
    private readonly float _penalty;
    private readonly Random _random;
    private readonly int[] _order;
    private readonly float[] _keys;
    private readonly float[] _probabilities;
    private readonly PriorityQueue<int, float> _heap = new();

    /// <summary>Creates a sampler.</summary>
    /// <param name="temperature">The softmax temperature; 0 decodes greedily.</param>
    /// <param name="topK">How many of the most likely ids sampling keeps; 0 keeps all.</param>
    /// <param name="topP">The nucleus; 1 keeps all.</param>
    /// <param name="repetitionPenalty">Divides positive and multiplies negative logits of seen ids; 1 turns it off.</param>
    /// <param name="seed">The seed, or <see langword="null"/> for a random one.</param>
    /// <param name="vocabularySize">The length of a logits row.</param>
    public TokenSampler(double temperature, int topK, double topP, double repetitionPenalty, int? seed, int vocabularySize)
    {
        _temperature = temperature;
        _topK = topK;
        _topP = topP;
        _penalty = (float)repetitionPenalty;
        _random = seed is int s ? new Random(s) : new Random();
        if (!IsGreedy)
        {
            _order = new int[vocabularySize];
            _keys = new float[vocabularySize];
            _probabilities = new float[vocabularySize];
        }
        else
        {
            _order = [];
            _keys = [];
            _probabilities = [];
        }
    }

    /// <summary>Gets whether this sampler takes the arg-max (temperature 0).</summary>
    public bool IsGreedy => _temperature == 0;

    /// <summary>Applies the repetition penalty to the ids of <paramref name="seen"/> in place.</summary>
    public void Penalize(Span<float> logits, IReadOnlyCollection<int> seen)
    {
        var penalty = _penalty;
        if (penalty == 1f)
        {
            return;
        }

        foreach (var id in seen)
        {
            ref var logit = ref logits[id];
            logit = logit > 0 ? logit / penalty : logit * penalty;
        }
    }

    /// <summary>Picks the next id.</summary>
    public int Next(Span<float> logits)
    {
        if (IsGreedy)
        {
            return TensorPrimitives.IndexOfMax(logits);
        }

        var count = Candidates(logits);
        var draw = _random.NextDouble();
        double cumulative = 0;
        for (var i = 0; i < count; i++)
        {
            cumulative += _probabilities[i];
            if (draw < cumulative)
            {
                return _order[i];
            }
        }

        return _order[count - 1];
    }

    /// <summary>
    /// Fills <c>_order[..n]</c> with the ids sampling may choose and <c>_probabilities[..n]</c> with their renormalised
    /// probabilities; returns n. Internal so tests can check the allowed set against the logits. Nothing is sorted
    /// unless top-k or top-p needs it, and then only the ids that can be in the set.
    /// </summary>
    internal int Candidates(ReadOnlySpan<float> logits)
    {
        var vocabulary = logits.Length;
        var temperature = _temperature;
        var max = TensorPrimitives.Max(logits);
        int count;
        var sorted = false;
        if (_topK is > 0 and var k && k < vocabulary)
        {
            // The k largest by a bounded min-heap, O(V log k), then those k in descending order.
            _heap.Clear();
            for (var i = 0; i < vocabulary; i++)
            {
                if (_heap.Count < k)
                {
                    _heap.Enqueue(i, logits[i]);
                }
                else if (_heap.TryPeek(out _, out var smallest) && logits[i] > smallest)
                {
                    _heap.EnqueueDequeue(i, logits[i]);
                }
            }

            count = 0;
            while (_heap.TryDequeue(out var id, out _))
            {
                _order[count] = id;
                _keys[count] = -logits[id];
                count++;
            }

            Array.Sort(_keys, _order, 0, count);
            sorted = true;
        }
        else
        {
            count = vocabulary;
            for (var i = 0; i < vocabulary; i++)
            {
                _order[i] = i;
            }
        }

        double sum = 0;
        for (var i = 0; i < count; i++)
        {
            var p = Math.Exp((logits[_order[i]] - max) / temperature);
            _probabilities[i] = (float)p;
            sum += p;
        }

        TensorPrimitives.Divide(_probabilities.AsSpan(0, count), (float)sum, _probabilities.AsSpan(0, count));
        var topP = _topP;
        if (topP >= 1.0)
        {
            return count;
        }

        if (!sorted)
        {
            // Ids below (1 - p) / V together hold less than 1 - p, so the nucleus lies among the others: sort only those.
            var floor = (float)((1.0 - topP) / count);
            var kept = 0;
            for (var i = 0; i < count; i++)
            {
                if (_probabilities[i] >= floor)
                {
                    _order[kept] = _order[i];
                    _keys[kept] = -_probabilities[i];
                    kept++;
                }
            }

            Array.Sort(_keys, _order, 0, kept);
            for (var i = 0; i < kept; i++)
            {
                _probabilities[i] = -_keys[i];
            }

            count = kept;
        }

        double cumulative = 0;
        var nucleus = count;
        for (var i = 0; i < count; i++)
        {
            cumulative += _probabilities[i];
            if (cumulative >= topP)
            {
                nucleus = i + 1;
                break;
            }
        }

        var nucleusSum = TensorPrimitives.Sum(_probabilities.AsSpan(0, nucleus));
        TensorPrimitives.Divide(_probabilities.AsSpan(0, nucleus), nucleusSum, _probabilities.AsSpan(0, nucleus));
        return nucleus;
    }

    /// <summary>The id at rank <paramref name="index"/> after <see cref="Candidates"/>.</summary>
    internal int CandidateAt(int index) => _order[index];
}
