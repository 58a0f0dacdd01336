using System.Numerics.Tensors;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Tests;

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
