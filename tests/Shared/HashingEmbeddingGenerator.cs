using System.Numerics.Tensors;
using System.Security.Cryptography;
using System.Text;
using LlmAdapt.Retrieval.Indexes;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Testing;

/// <summary>
/// The one deterministic embedding double of the tests: the English analyzer's terms (lower-cased, stemmed, stop words
/// dropped) hashed with FNV-1a into a fixed number of buckets, so texts that share words are similar. Counts calls and
/// inputs so tests can see batching and caching. With a model id it reports metadata (model id, dimensions) like a real
/// generator; without one it reports none. <see cref="WordsAndBigrams"/> is the richer variant the trainers' tests learn
/// from: lower-cased words and word bigrams, SHA-256 hashed with a sign, L2-normalised.
/// </summary>
internal sealed class HashingEmbeddingGenerator(int dimensions = 64, string? modelId = null) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata? _metadata = modelId is null ? null : new("test", null, modelId, dimensions);
    private bool _bigrams;
    private int _calls;
    private int _inputs;

    public int Calls => Volatile.Read(ref _calls);

    public int Inputs => Volatile.Read(ref _inputs);

    /// <summary>Words and word bigrams, signed SHA-256 buckets, L2-normalised; reports model id <c>test/hashing-{dimensions}</c> unless given one.</summary>
    public static HashingEmbeddingGenerator WordsAndBigrams(int dimensions = 512, string? modelId = null)
        => new(dimensions, modelId ?? $"test/hashing-{dimensions}") { _bigrams = true };

    public float[] Embed(string text)
    {
        if (_bigrams)
        {
            return EmbedWordsAndBigrams(text);
        }

        var vector = new float[dimensions];
        foreach (var term in TextAnalyzer.English.Analyze(text))
        {
            vector[Fnv(term) % (uint)dimensions] += 1;
        }

        return vector;
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            Interlocked.Increment(ref _inputs);
            result.Add(new Embedding<float>(Embed(value)) { ModelId = modelId });
        }

        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata : null;

    public void Dispose()
    {
    }

    private float[] EmbedWordsAndBigrams(string text)
    {
        var vector = new float[dimensions];
        var words = text.ToLowerInvariant().Split([' ', '\t', '\n', ',', '.', '!', '?', ';', ':', '"'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < words.Length; i++)
        {
            AddSigned(vector, words[i]);
            if (i > 0)
            {
                AddSigned(vector, words[i - 1] + " " + words[i]);
            }
        }

        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }

    private void AddSigned(float[] vector, string token)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(token), hash);
        var bucket = (int)(BitConverter.ToUInt32(hash) % (uint)dimensions);
        vector[bucket] += (hash[4] & 1) == 0 ? 1 : -1;
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
