using System.Numerics.Tensors;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// Chooses the next id from one row of logits: repetition penalty, then greedy arg-max or temperature, top-k and
/// top-p sampling. Scratch arrays are sized once per request (vocabulary-long), so a step allocates nothing.
/// </summary>
internal sealed class TokenSampler
{
    private readonly GenerationOptions _options;
    private readonly Random _random;
    private readonly int[] _order;
    private readonly float[] _keys;
    private readonly float[] _probabilities;

    public TokenSampler(GenerationOptions options, int vocabularySize)
    {
        _options = options;
        _random = options.Seed is int seed ? new Random(seed) : new Random();
        if (!options.IsGreedy)
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

    /// <summary>Applies the repetition penalty to the ids of <paramref name="seen"/> in place.</summary>
    public void Penalize(Span<float> logits, IReadOnlyCollection<int> seen)
    {
        var penalty = (float)_options.RepetitionPenalty;
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
        if (_options.IsGreedy)
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
    /// Fills <c>_order[..n]</c> with the ids sampling may choose, most likely first, and <c>_probabilities[..n]</c>
    /// with their renormalised probabilities; returns n. Internal so tests can check the allowed set against the logits.
    /// </summary>
    internal int Candidates(ReadOnlySpan<float> logits)
    {
        var vocabulary = logits.Length;
        var temperature = (float)_options.Temperature;
        var k = _options.TopK is > 0 and var topK && topK < vocabulary ? topK : vocabulary;
        for (var i = 0; i < vocabulary; i++)
        {
            _order[i] = i;
            _keys[i] = -logits[i]; // ascending sort of negated logits: most likely first
        }

        // The sort is deterministic for a given input, so a seed always gives the same choice.
        Array.Sort(_keys, _order, 0, vocabulary);
        var count = k;
        var max = -_keys[0];
        double sum = 0;
        for (var i = 0; i < count; i++)
        {
            var p = Math.Exp((-_keys[i] - max) / temperature);
            _probabilities[i] = (float)p;
            sum += p;
        }

        var topP = _options.TopP;
        double cumulative = 0;
        var kept = count;
        for (var i = 0; i < count; i++)
        {
            _probabilities[i] = (float)(_probabilities[i] / sum);
            cumulative += _probabilities[i];
            if (topP < 1.0 && cumulative >= topP)
            {
                kept = i + 1;
                break;
            }
        }

        if (kept != count)
        {
            var keptSum = TensorPrimitives.Sum(_probabilities.AsSpan(0, kept));
            TensorPrimitives.Divide(_probabilities.AsSpan(0, kept), keptSum, _probabilities.AsSpan(0, kept));
        }

        return kept;
    }

    /// <summary>The id at rank <paramref name="index"/> after <see cref="Candidates"/>.</summary>
    internal int CandidateAt(int index) => _order[index];
}
