using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Retrieval;

/// <summary>
/// A deterministic embedding double for unit tests: analyzed terms hashed into a fixed number of dimensions, so
/// texts that share words are similar. Counts calls so tests can see batching.
/// </summary>
internal sealed class HashingEmbeddingGenerator(int dimensions = 64) : IEmbeddingGenerator<string, Embedding<float>>
{
    public int Calls { get; private set; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            var vector = new float[dimensions];
            foreach (var term in TextAnalyzer.English.Analyze(value))
            {
                var hash = Fnv(term);
                vector[hash % (uint)dimensions] += 1;
            }

            result.Add(new Embedding<float>(vector));
        }

        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private static uint Fnv(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
