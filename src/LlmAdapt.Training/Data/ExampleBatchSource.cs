namespace LlmAdapt.Training.Data;

/// <summary>
/// Instruction tuning: one rendered example per row, left-aligned and padded to T; targets are −1 on prompt tokens and
/// padding, so only answer tokens carry loss; each row's loss is scaled by its example's weight. Training draws rows by
/// shuffled passes (<see cref="EpochOrder"/>, from the seed and the batch's index, so a resumed run draws the rows the
/// uninterrupted one would); validation walks them in order.
/// </summary>
internal sealed class ExampleBatchSource : IBatchSource
{
    private readonly IReadOnlyList<TokenizedExample> _examples;
    private readonly EpochOrder _order;

    public ExampleBatchSource(IReadOnlyList<TokenizedExample> examples, int batchSize, int sequenceLength, int seed = 0)
    {
        if (examples.Count == 0)
        {
            throw new ArgumentException("There are no examples with answer tokens inside the sequence length.", nameof(examples));
        }

        _examples = examples;
        _order = new EpochOrder(examples.Count, seed);
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
    }

    public int BatchSize { get; }

    public int SequenceLength { get; }

    public long TokenCount => _examples.Sum(e => (long)e.Tokens.Length);

    public (int[] Inputs, int[] Targets, float[]? Weights) Next(Random random, long batch)
    {
        var rows = new List<TokenizedExample>(BatchSize);
        for (var b = 0; b < BatchSize; b++)
        {
            rows.Add(_examples[_order[(batch * BatchSize) + b]]);
        }

        return Pack(rows);
    }

    public IEnumerable<(int[] Inputs, int[] Targets, float[]? Weights)> Sequential(int maxBatches)
    {
        for (var i = 0; i < _examples.Count && i / BatchSize < maxBatches; i += BatchSize)
        {
            yield return Pack(_examples.Skip(i).Take(BatchSize).ToList());
        }
    }

    private (int[] Inputs, int[] Targets, float[]? Weights) Pack(IReadOnlyList<TokenizedExample> rows)
    {
        var t = SequenceLength;
        var inputs = new int[BatchSize * t];
        var targets = new int[BatchSize * t];
        var weights = rows.All(r => r.Weight == 1f) ? null : new float[BatchSize * t];
        Array.Fill(targets, -1);
        for (var b = 0; b < rows.Count; b++)
        {
            var e = rows[b];
            weights?.AsSpan(b * t, t).Fill(e.Weight);
            var n = Math.Min(t, e.Tokens.Length - 1);
            for (var i = 0; i < n; i++)
            {
                inputs[(b * t) + i] = e.Tokens[i];
                targets[(b * t) + i] = e.LossMask[i + 1] ? e.Tokens[i + 1] : -1;
            }
        }

        return (inputs, targets, weights);
    }
}
