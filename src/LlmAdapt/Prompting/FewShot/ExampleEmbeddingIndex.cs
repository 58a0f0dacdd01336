using System.Numerics.Tensors;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.FewShot;

/// <summary>
/// The embeddings of an example pool, computed once on first use (in one batch call) and kept; a failed attempt is
/// retried on the next use. Vectors are L2-normalised so a dot product is the cosine. Thread-safe.
/// </summary>
internal sealed class ExampleEmbeddingIndex
{
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private float[][]? _vectors;

    public ExampleEmbeddingIndex(IReadOnlyList<PromptExample> pool, IEmbeddingGenerator<string, Embedding<float>> generator)
    {
        Pool = pool;
        _generator = generator;
    }

    public IReadOnlyList<PromptExample> Pool { get; }

    public int GeneratorCalls { get; private set; }

    public async ValueTask<float[][]> VectorsAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _vectors) is { } ready)
        {
            return ready;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_vectors is { } done)
            {
                return done;
            }

            GeneratorCalls++;
            var embeddings = await _generator.GenerateAsync(Pool.Select(e => e.Input), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (embeddings.Count != Pool.Count)
            {
                throw new InvalidOperationException($"The embedding generator returned {embeddings.Count} embeddings for {Pool.Count} examples.");
            }

            var vectors = embeddings.Select((e, i) => Normalise(e.Vector.ToArray(), $"example {i}")).ToArray();
            Volatile.Write(ref _vectors, vectors);
            return vectors;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<float[]> EmbedQueryAsync(string input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var embedding = await _generator.GenerateAsync(input, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Normalise(embedding.Vector.ToArray(), "input");
    }

    /// <summary>
    /// Returns the indices of the <paramref name="k"/> examples most similar to <paramref name="query"/>, most similar
    /// first, ties to the lower index; with their similarities. O(n log k) with a heap of k, no sort of the pool.
    /// </summary>
    public static (int Index, float Score)[] TopK(float[][] vectors, float[] query, int k)
    {
        k = Math.Min(k, vectors.Length);
        // A min-heap on (score, -index): its root is the worst kept, so a better candidate replaces it.
        var heap = new PriorityQueue<int, (float Score, int NegIndex)>(k + 1);
        for (var i = 0; i < vectors.Length; i++)
        {
            var score = Cosine(query, vectors[i]);
            if (heap.Count < k)
            {
                heap.Enqueue(i, (score, -i));
            }
            else if (heap.TryPeek(out _, out var worst) && (score > worst.Score || (score == worst.Score && -i > worst.NegIndex)))
            {
                heap.DequeueEnqueue(i, (score, -i));
            }
        }

        var result = new (int Index, float Score)[heap.Count];
        for (var j = result.Length - 1; j >= 0; j--)
        {
            heap.TryDequeue(out var index, out var priority);
            result[j] = (index, priority.Score);
        }

        return result;
    }

    public static float Cosine(float[] a, float[] b)
    {
        if (a.Length != b.Length)
        {
            throw new InvalidOperationException($"Embedding dimensions differ: {a.Length} and {b.Length}.");
        }

        return TensorPrimitives.Dot(a, b);
    }

    private static float[] Normalise(float[] vector, string what)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (vector.Length == 0 || !float.IsFinite(norm))
        {
            throw new InvalidOperationException($"The embedding of the {what} has {vector.Length} dimensions and norm {norm}.");
        }

        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }
}
