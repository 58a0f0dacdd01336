using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Benchmarks.Retrieval;

/// <summary>Exact top-10 over 100,000 × 384 float32 against reading the same vectors once (a sum over them).</summary>
public class FlatVectorBenchmarks
{
    public const int Count = 100_000;
    public const int Dimensions = 384;

    private FlatVectorIndex _index = null!;
    private float[] _copy = [];
    private float[] _query = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(11);
        _index = new FlatVectorIndex(Dimensions);
        _copy = new float[Count * Dimensions];
        var vector = new float[Dimensions];
        for (var i = 0; i < Count; i++)
        {
            for (var d = 0; d < Dimensions; d++)
            {
                vector[d] = (float)((random.NextDouble() * 2) - 1);
            }

            _index.Upsert(i, vector);
            vector.CopyTo(_copy, i * Dimensions);
        }

        _query = [.. Enumerable.Range(0, Dimensions).Select(_ => (float)random.NextDouble())];
    }

    [GlobalCleanup]
    public void Cleanup() => _index.Dispose();

    [Benchmark(Baseline = true)]
    public float ReadOnce() => TensorPrimitives.Sum(_copy);

    [Benchmark]
    public int FlatTop10() => _index.Search(_query, 10)[0].Key;
}
