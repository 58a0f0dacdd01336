namespace LlmAdapt.Training.Data;

/// <summary>
/// Next-token prediction on one long token stream: training batches are B windows of T + 1 tokens at random
/// offsets; validation walks non-overlapping blocks from the start.
/// </summary>
internal sealed class TokenBlockSource : IBatchSource
{
    private readonly int[] _tokens;

    public TokenBlockSource(int[] tokens, int batchSize, int sequenceLength, string origin)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Length < sequenceLength + 1)
        {
            throw new InvalidDataFileException(origin, 0, $"the text has {tokens.Length} tokens; a sequence of {sequenceLength} needs at least {sequenceLength + 1}. Use more text or a shorter --context.");
        }

        _tokens = tokens;
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
    }

    public int BatchSize { get; }

    public int SequenceLength { get; }

    public long TokenCount => _tokens.Length;

    public (int[] Inputs, int[] Targets) Next(Random random)
    {
        var t = SequenceLength;
        var inputs = new int[BatchSize * t];
        var targets = new int[BatchSize * t];
        for (var b = 0; b < BatchSize; b++)
        {
            var start = random.Next(_tokens.Length - t);
            Array.Copy(_tokens, start, inputs, b * t, t);
            Array.Copy(_tokens, start + 1, targets, b * t, t);
        }

        return (inputs, targets);
    }

    public IEnumerable<(int[] Inputs, int[] Targets)> Sequential(int maxBatches)
    {
        var t = SequenceLength;
        var blocks = (_tokens.Length - 1) / t;
        var produced = 0;
        for (var first = 0; first < blocks && produced < maxBatches; first += BatchSize, produced++)
        {
            var rows = Math.Min(BatchSize, blocks - first);
            var inputs = new int[BatchSize * t];
            var targets = new int[BatchSize * t];
            Array.Fill(targets, -1);
            for (var b = 0; b < rows; b++)
            {
                Array.Copy(_tokens, (first + b) * t, inputs, b * t, t);
                Array.Copy(_tokens, ((first + b) * t) + 1, targets, b * t, t);
            }

            yield return (inputs, targets);
        }
    }
}
