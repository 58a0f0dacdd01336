namespace LlmAdapt.Training.Data;

/// <summary>
/// Which item a training run draws at each position: passes (epochs) over the items, each in a shuffled order made from
/// (seed, epoch) alone, so the item at a given draw is the same whether or not the run was interrupted and resumed
/// before it. The DPO objective draws its pairs and instruction tuning its examples through it. Keeps one epoch's order.
/// </summary>
internal sealed class EpochOrder
{
    private readonly int _count;
    private readonly int _seed;
    private int[] _order = [];
    private long _epoch = -1;

    /// <summary>Initializes a new instance over <paramref name="count"/> items (at least one).</summary>
    public EpochOrder(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        (_count, _seed) = (count, seed);
    }

    /// <summary>Gets the index of the item drawn at position <paramref name="draw"/> (0-based, counted from the run's first draw).</summary>
    public int this[long draw]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(draw);
            var epoch = draw / _count;
            if (epoch != _epoch)
            {
                _order = Enumerable.Range(0, _count).ToArray();
                new Random(unchecked((_seed * 7_919) + (int)epoch)).Shuffle(_order);
                _epoch = epoch;
            }

            return _order[(int)(draw % _count)];
        }
    }
}
