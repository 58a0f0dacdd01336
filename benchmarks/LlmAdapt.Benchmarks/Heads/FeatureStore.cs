using LlmAdapt.Embeddings;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Training.Embeddings;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>
/// The built-in all-MiniLM-L6-v2 behind the same on-disk cache the CLI uses (LLMADAPT_EMBEDDING_CACHE, else
/// LlmAdapt/embeddings under local app data), so a dataset is embedded once and every later run reads it back.
/// `--embedding-layers N`, `--embedding-pooling mean|cls|mean-max` and `--embedding-normalize true|false` on a
/// comparison's command line pick richer features (<see cref="OnnxEmbeddingOptions.PooledLayers"/>,
/// <see cref="EmbeddingPooling.MeanMax"/>, <see cref="OnnxEmbeddingOptions.Normalize"/>); every model
/// of the comparison, the peer included, then gets them.
/// </summary>
internal sealed class FeatureStore : IDisposable
{
    private readonly DiskCachingEmbeddingGenerator _cache;

    public FeatureStore(string[]? args = null)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LLMADAPT_EMBEDDING_CACHE");
        var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        var directory = !string.IsNullOrWhiteSpace(fromEnvironment) ? fromEnvironment : Path.Combine(string.IsNullOrEmpty(root) ? Path.GetTempPath() : root, "LlmAdapt", "embeddings");
        var onnx = OnnxEmbeddingGenerator.CreateDefault(OptionsFrom(args ?? []));
        ModelId = onnx.ModelId;
        Dimensions = onnx.Dimensions;
        _cache = new DiskCachingEmbeddingGenerator(onnx, directory);
    }

    public IEmbeddingGenerator<string, Embedding<float>> Generator => _cache;

    /// <summary>Gets the features' model id (with <c>#layers=…;pooling=…</c> for richer features).</summary>
    public string ModelId { get; }

    /// <summary>Gets the features' dimension.</summary>
    public int Dimensions { get; }

    /// <summary>Reads `--embedding-layers N`, `--embedding-pooling mean|cls|mean-max` and `--embedding-normalize true|false`.</summary>
    public static OnnxEmbeddingOptions OptionsFrom(string[] args)
    {
        var options = new OnnxEmbeddingOptions();
        if (Array.IndexOf(args, "--embedding-layers") is var l and >= 0)
        {
            options.PooledLayers = int.Parse(args[l + 1], System.Globalization.CultureInfo.InvariantCulture);
        }

        if (Array.IndexOf(args, "--embedding-pooling") is var p and >= 0)
        {
            options.Pooling = OnnxEmbeddingOptions.ParsePooling(args[p + 1]);
        }

        if (Array.IndexOf(args, "--embedding-normalize") is var n and >= 0)
        {
            options.Normalize = bool.Parse(args[n + 1]);
        }

        return options;
    }

    public long Misses => _cache.Misses;

    /// <summary>Embeds (or reads back) every text, reporting every 5,000.</summary>
    public async Task<Dictionary<string, float[]>> EmbedAsync(IEnumerable<string> texts, string what)
    {
        var distinct = texts.Distinct(StringComparer.Ordinal).ToArray();
        var result = new Dictionary<string, float[]>(distinct.Length, StringComparer.Ordinal);
        for (var start = 0; start < distinct.Length; start += 1000)
        {
            var batch = distinct.Skip(start).Take(1000).ToArray();
            var embeddings = await _cache.GenerateAsync(batch).ConfigureAwait(false);
            for (var i = 0; i < batch.Length; i++)
            {
                result[batch[i]] = embeddings[i].Vector.ToArray();
            }

            if ((start / 1000) % 5 == 4)
            {
                Console.Error.WriteLine($"{what}: {start + batch.Length:N0}/{distinct.Length:N0} embedded ({_cache.Misses:N0} computed, the rest from the cache)");
            }
        }

        return result;
    }

    public void Dispose() => _cache.Dispose();
}

/// <summary>Serves precomputed vectors: lets LlmAdapt's trainer run on exactly the features the peer gets, with no encoder cost.</summary>
internal sealed class PrecomputedEmbeddingGenerator(Dictionary<string, float[]> vectors, string modelId) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata = new("precomputed", null, modelId, vectors.Values.First().Length);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        => Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(vectors[v]))));

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata : null;

    public void Dispose()
    {
    }
}
