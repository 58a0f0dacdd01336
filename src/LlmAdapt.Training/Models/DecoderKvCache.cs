using System.Numerics;
using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Models;

/// <summary>
/// The keys and values of the positions a decoder has already seen, per layer (context × key/value width), so each new
/// token costs one position's work instead of a forward over the whole sequence.
/// </summary>
internal sealed class DecoderKvCache<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public DecoderKvCache(int layers, int contextLength, int width)
    {
        Width = width;
        ContextLength = contextLength;
        Keys = [.. Enumerable.Range(0, layers).Select(_ => new PinnedBuffer<T>((long)contextLength * width))];
        Values = [.. Enumerable.Range(0, layers).Select(_ => new PinnedBuffer<T>((long)contextLength * width))];
        Scores = new PinnedBuffer<T>(contextLength);
    }

    /// <summary>Gets the key/value width of one position: key/value heads × head size.</summary>
    public int Width { get; }

    public int ContextLength { get; }

    /// <summary>Gets each layer's keys, one row of <see cref="Width"/> per position.</summary>
    public PinnedBuffer<T>[] Keys { get; }

    public PinnedBuffer<T>[] Values { get; }

    /// <summary>Gets the attention scores of one query (scratch).</summary>
    public PinnedBuffer<T> Scores { get; }
}
