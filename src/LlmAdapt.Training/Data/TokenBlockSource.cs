namespace LlmAdapt.Training.Data;

/// <summary>
/// Next-token prediction on one long token stream: training batches are B windows of T + 1 tokens at random
/// offsets; validation walks non-overlapping blocks from the start.
/// </summary>
internal sealed class TokenBlockSource : IBatchSource
{
    private readonly int[] _tokens;
    private readonly float[]? _weights;

    /// <param name="tokens">The token stream.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="origin">The text's name, for messages.</param>
    /// <param name="weights">Per token, the weight of predicting it (null: all 1).</param>
    public TokenBlockSource(int[] tokens, int batchSize, int sequenceLength, string origin, float[]? weights = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Length < sequenceLength + 1)
        {
            throw new InvalidDataFileException(origin, 0, $"the text has {tokens.Length} tokens; a sequence of {sequenceLength} needs at least {sequenceLength + 1}. Use more text or a shorter --context.");
        }

        _tokens = tokens;
        _weights = weights;
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
    }

    public int BatchSize { get; }

    public int SequenceLength { get; }

    public long TokenCount => _tokens.Length;

    public (int[] Inputs, int[] Targets, float[]? Weights) Next(Random random, long batch)
    {
        var t = SequenceLength;
        var inputs = new int[BatchSize * t];
        var targets = new int[BatchSize * t];
        var weights = _weights is null ? null : new float[BatchSize * t];
        for (var b = 0; b < BatchSize; b++)
        {
            var start = random.Next(_tokens.Length - t);
            Array.Copy(_tokens, start, inputs, b * t, t);
            Array.Copy(_tokens, start + 1, targets, b * t, t);
            if (weights is not null)
            {
                Array.Copy(_weights!, start + 1, weights, b * t, t);
            }
        }

        return (inputs, targets, weights);
    }

    public IEnumerable<(int[] Inputs, int[] Targets, float[]? Weights)> Sequential(int maxBatches)
    {
        var t = SequenceLength;
        var blocks = (_tokens.Length - 1) / t;
        var produced = 0;
        for (var first = 0; first < blocks && produced < maxBatches; first += BatchSize, produced++)
        {
            var rows = Math.Min(BatchSize, blocks - first);
            var inputs = new int[BatchSize * t];
            var targets = new int[BatchSize * t];
            var weights = _weights is null ? null : new float[BatchSize * t];
            Array.Fill(targets, -1);
            for (var b = 0; b < rows; b++)
            {
                Array.Copy(_tokens, (first + b) * t, inputs, b * t, t);
                Array.Copy(_tokens, ((first + b) * t) + 1, targets, b * t, t);
                if (weights is not null)
                {
                    Array.Copy(_weights!, ((first + b) * t) + 1, weights, b * t, t);
                }
            }

            yield return (inputs, targets, weights);
        }
    }
}
