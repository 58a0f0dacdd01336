using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Embeddings;

/// <summary>Embeds texts once per distinct text, in batches, and checks what comes back.</summary>
internal static class TextFeatures
{
    public const int BatchSize = 64;

    /// <summary>Embeds <paramref name="texts"/>; returns one row per text (rows of equal texts are shared) and the dimension.</summary>
    public static async Task<(float[][] Rows, int Dimension)> EmbedAsync(
        IEmbeddingGenerator<string, Embedding<float>> generator,
        IReadOnlyList<string> texts,
        Func<int, string> describe,
        IProgress<EmbeddingProgress>? progress,
        CancellationToken cancellationToken,
        int expectedDimension = 0)
    {
        var distinct = new Dictionary<string, int>(StringComparer.Ordinal);
        var firstIndex = new List<int>();
        var slot = new int[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            if (!distinct.TryGetValue(texts[i], out var s))
            {
                s = distinct.Count;
                distinct.Add(texts[i], s);
                firstIndex.Add(i);
            }

            slot[i] = s;
        }

        var unique = new float[distinct.Count][];
        var dimension = expectedDimension;
        progress?.Report(new EmbeddingProgress(0, unique.Length));
        for (var start = 0; start < unique.Length; start += BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(BatchSize, unique.Length - start);
            var batch = new string[count];
            for (var j = 0; j < count; j++)
            {
                batch[j] = texts[firstIndex[start + j]];
            }

            var generated = await generator.GenerateAsync(batch, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (generated.Count != count)
            {
                throw new LlmAdaptException($"The embedding generator returned {generated.Count} embeddings for a batch of {count} texts.");
            }

            for (var j = 0; j < count; j++)
            {
                // Rows are only read, so an embedding that owns a whole array is kept as it is rather than copied.
                var memory = generated[j].Vector;
                var vector = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                    ? segment.Array
                    : memory.ToArray();
                if (dimension == 0)
                {
                    dimension = vector.Length;
                }

                if (vector.Length != dimension)
                {
                    throw new LlmAdaptException($"The embedding of {describe(firstIndex[start + j])} has {vector.Length} dimensions; expected {dimension}.");
                }

                // NaN and ±∞ make the sum non-finite; a finite but huge sum is checked element by element.
                var k = float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(vector)) ? -1 : Array.FindIndex(vector, v => !float.IsFinite(v));
                if (k >= 0)
                {
                    throw new LlmAdaptException($"The embedding of {describe(firstIndex[start + j])} has {vector[k]} at component {k} of {vector.Length}; features must be finite numbers.");
                }

                unique[start + j] = vector;
            }

            progress?.Report(new EmbeddingProgress(start + count, unique.Length));
        }

        var rows = new float[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            rows[i] = unique[slot[i]];
        }

        return (rows, dimension);
    }
}
