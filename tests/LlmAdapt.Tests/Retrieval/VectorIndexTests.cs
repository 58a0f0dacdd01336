using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Tests.Retrieval;

public sealed class VectorIndexTests
{
    [Fact]
    public void Flat_Search_EqualsBruteForce()
    {
        var data = ClusteredVectors(500, 48, seed: 1);
        using var index = new FlatVectorIndex(48);
        for (var i = 0; i < data.Length; i++)
        {
            index.Upsert(i, data[i]);
        }

        var query = ClusteredVectors(1, 48, seed: 2)[0];
        var expected = Enumerable.Range(0, data.Length).OrderByDescending(i => Dot(data[i], query)).ThenBy(i => i).Take(10).ToArray();
        Assert.Equal(expected, index.Search(query, 10).Select(r => r.Key).ToArray());
    }

    [Fact]
    public void Flat_UpdateDeleteAndFilter_Apply()
    {
        using var index = new FlatVectorIndex(2);
        index.Upsert(0, [1, 0]);
        index.Upsert(1, [0, 1]);
        index.Upsert(2, [0.9f, 0.1f]);
        Assert.Equal(0, index.Search([1, 0], 1)[0].Key);
        index.Upsert(0, [-1, 0]);
        Assert.Equal(2, index.Search([1, 0], 1)[0].Key);
        Assert.True(index.Remove(2));
        Assert.Equal(1, index.Search([1, 0], 1)[0].Key);
        Assert.Equal(0, index.Search([1, 0], 1, key => key == 0)[0].Key);
        Assert.Throws<ArgumentException>(() => index.Search([1, 0, 0], 1));
    }

    [Fact]
    public void Hnsw_RecallAt10_IsAtLeast95Percent()
    {
        const int n = 3000, dims = 32;
        var data = ClusteredVectors(n, dims, seed: 3);
        using var flat = new FlatVectorIndex(dims);
        using var hnsw = new HnswVectorIndex(dims, new HnswOptions { M = 16, EfConstruction = 100, EfSearch = 80 });
        for (var i = 0; i < n; i++)
        {
            flat.Upsert(i, data[i]);
            hnsw.Upsert(i, data[i]);
        }

        var queries = ClusteredVectors(100, dims, seed: 4);
        var hits = 0;
        foreach (var query in queries)
        {
            var exact = flat.Search(query, 10).Select(r => r.Key).ToHashSet();
            hits += hnsw.Search(query, 10).Count(r => exact.Contains(r.Key));
        }

        var recall = hits / 1000.0;
        Assert.True(recall >= 0.95, $"recall@10 {recall:F3}");
    }

    [Fact]
    public void Hnsw_DeletedAndFilteredKeys_AreNeverReturned()
    {
        const int n = 1000, dims = 16;
        var data = ClusteredVectors(n, dims, seed: 5);
        using var hnsw = new HnswVectorIndex(dims);
        for (var i = 0; i < n; i++)
        {
            hnsw.Upsert(i, data[i]);
        }

        for (var i = 0; i < n; i += 2)
        {
            hnsw.Remove(i);
        }

        var query = data[10];
        var results = hnsw.Search(query, 10);
        Assert.Equal(10, results.Length);
        Assert.All(results, r => Assert.Equal(1, r.Key % 2));

        // A filter that admits 3 keys: all 3 come back, found by the exact fallback if the walk misses them.
        var filtered = hnsw.Search(query, 10, key => key is 1 or 501 or 999);
        Assert.Equal([1, 501, 999], filtered.Select(r => r.Key).Order().ToArray());
    }

    internal static float[][] ClusteredVectors(int count, int dims, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, dims).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
        var vectors = new float[count][];
        for (var i = 0; i < count; i++)
        {
            var centre = centres[random.Next(centres.Length)];
            var v = centre.Select(c => c + (float)((random.NextDouble() - 0.5) * 0.8)).ToArray();
            var norm = MathF.Sqrt(v.Sum(x => x * x));
            vectors[i] = v.Select(x => x / norm).ToArray();
        }

        return vectors;
    }

    private static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();
}
