using System.Numerics.Tensors;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Tests;

/// <summary>
/// A real, cheap encoder for tests: feature hashing of lower-cased words and word bigrams into a fixed number of
/// buckets with signed counts, L2-normalised. Deterministic across runs and machines.
/// </summary>
internal sealed class HashingEmbeddingGenerator(int dimensions = 512, string modelId = "test/hashing-512") : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata = new("test", null, modelId, dimensions);

    public int Calls { get; private set; }

    public int TextsEmbedded { get; private set; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var text in values)
        {
            TextsEmbedded++;
            result.Add(new Embedding<float>(Embed(text)) { ModelId = modelId });
        }

        return Task.FromResult(result);
    }

    public float[] Embed(string text)
    {
        var vector = new float[dimensions];
        var words = text.ToLowerInvariant().Split([' ', '\t', '\n', ',', '.', '!', '?', ';', ':', '"'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < words.Length; i++)
        {
            Add(vector, words[i]);
            if (i > 0)
            {
                Add(vector, words[i - 1] + " " + words[i]);
            }
        }

        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata : null;

    public void Dispose()
    {
    }

    private void Add(float[] vector, string token)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(token), hash);
        var bucket = (int)(BitConverter.ToUInt32(hash) % (uint)dimensions);
        vector[bucket] += (hash[4] & 1) == 0 ? 1 : -1;
    }
}

/// <summary>
/// Synthetic features for texts of the form "LABEL INDEX": a fixed vector per label plus Gaussian noise seeded by the
/// text, so classes overlap by a known amount. "xor a b" texts place points in four quadrants (class = sign(a·b)).
/// </summary>
internal sealed class SyntheticEmbeddingGenerator(int dimensions = 16, double noise = 1.0, string modelId = "test/synthetic") : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata = new("test", null, modelId, dimensions);

    public Func<string, float[]?>? Override { get; set; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var text in values)
        {
            result.Add(new Embedding<float>(Override?.Invoke(text) ?? Embed(text)));
        }

        return Task.FromResult(result);
    }

    public float[] Embed(string text)
    {
        var parts = text.Split(' ');
        var random = new Random(BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(text))));
        var v = new float[dimensions];
        for (var i = 0; i < dimensions; i++)
        {
            v[i] = (float)(noise * Gaussian(random));
        }

        if (parts[0] == "xor")
        {
            v[0] = float.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            v[1] = float.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            return v;
        }

        var labelRandom = new Random(BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(parts[0]))));
        for (var i = 0; i < dimensions; i++)
        {
            v[i] += (float)Gaussian(labelRandom);
        }

        return v;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata : null;

    public void Dispose()
    {
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
