using LlmAdapt.Embeddings;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Training;
using LlmAdapt.Training.Embeddings;
using LlmAdapt.Training.Heads;
using Microsoft.Extensions.AI;
using Spectre.Console;

namespace LlmAdapt.Cli.Heads;

/// <summary>What the head and reward verbs share: the cached encoder, the progress display and the loss plot.</summary>
internal static class HeadCliSupport
{
    /// <summary>The environment variable that moves the embedding cache.</summary>
    public const string CacheEnvironmentVariable = DiskCachingEmbeddingGenerator.CacheEnvironmentVariable;

    public static string DefaultCacheDirectory() => DiskCachingEmbeddingGenerator.DefaultDirectory;

    /// <summary>
    /// The built-in all-MiniLM-L6-v2 (or an ONNX model folder), pooling <paramref name="layers"/> layers by
    /// <paramref name="pooling"/> and <paramref name="normalize"/> (<see langword="null"/>: the model's own), behind the
    /// on-disk embedding cache unless it is off.
    /// </summary>
    public static Encoder OpenEncoder(string? modelDirectory, string? cacheDirectory, bool noCache, int layers = 1, EmbeddingPooling? pooling = null, bool? normalize = null, int threads = 0)
    {
        // threads > 0: that many batches side by side, one ONNX Runtime thread each (the embedding defaults' shape, capped).
        var options = new OnnxEmbeddingOptions { PooledLayers = layers, Pooling = pooling, Normalize = normalize, IntraOpThreads = threads > 0 ? 1 : 0, ConcurrentBatches = threads };
        var onnx = modelDirectory is null ? OnnxEmbeddingGenerator.CreateDefault(options) : OnnxEmbeddingGenerator.Create(modelDirectory, options);
        if (noCache)
        {
            return new Encoder(onnx, onnx, null);
        }

        var cached = new DiskCachingEmbeddingGenerator(onnx, cacheDirectory ?? DefaultCacheDirectory());
        return new Encoder(cached, onnx, cached);
    }

    /// <summary>
    /// The embedding features a head folder was trained on, read from the <c>embedding_model</c> in its manifest (see
    /// <see cref="OnnxEmbeddingOptions.TryApplyFeaturesOf"/>) by <see cref="SavedHead.ReadEmbeddingModelAsync"/>; (1,
    /// <see langword="null"/>, <see langword="null"/>) when the folder has no manifest (loading the head then says so).
    /// </summary>
    public static async Task<(int Layers, EmbeddingPooling? Pooling, bool? Normalize)> FeaturesOfAsync(string headFolder, CancellationToken cancellationToken)
    {
        var options = new OnnxEmbeddingOptions();
        if (await SavedHead.ReadEmbeddingModelAsync(headFolder, cancellationToken).ConfigureAwait(false) is { } model)
        {
            options.TryApplyFeaturesOf(model);
        }

        return (options.PooledLayers, options.Pooling, options.Normalize);
    }

    /// <summary>Runs <paramref name="work"/> under a progress display on standard error: one bar for embedding, one for epochs.</summary>
    public static async Task<T> WithProgressAsync<T>(CliContext context, int maxEpochs, Func<IProgress<EmbeddingProgress>, IProgress<TrainingProgress>?, Task<T>> work)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Error) });
        return await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var embedding = ctx.AddTask("Embedding texts", maxValue: 1);
                var training = maxEpochs > 0 ? ctx.AddTask("Training", autoStart: false, maxValue: maxEpochs) : null;
                var result = await work(
                    new SyncProgress<EmbeddingProgress>(p =>
                    {
                        embedding.MaxValue = Math.Max(p.Total, 1);
                        embedding.Value = p.Completed;
                        embedding.Description = $"Embedding {p.Completed:N0}/{p.Total:N0} texts";
                    }),
                    training is null ? null : new SyncProgress<TrainingProgress>(p =>
                    {
                        if (!training.IsStarted)
                        {
                            training.StartTask();
                        }

                        training.Value = p.Epoch;
                        training.Description = p.ValidationLoss is { } v
                            ? $"Epoch {p.Epoch}: loss {p.TrainingLoss:F4}, validation {v:F4}"
                            : $"Epoch {p.Epoch}: loss {p.TrainingLoss:F4}";
                    })).ConfigureAwait(false);
                embedding.Value = embedding.MaxValue;
                if (training is not null)
                {
                    training.Value = training.MaxValue;
                }

                return result;
            }).ConfigureAwait(false);
    }

    /// <summary>The encoder the verbs use, and what to dispose.</summary>
    public sealed class Encoder(IEmbeddingGenerator<string, Embedding<float>> generator, IDisposable onnx, DiskCachingEmbeddingGenerator? cache) : IDisposable
    {
        public IEmbeddingGenerator<string, Embedding<float>> Generator { get; } = generator;

        public DiskCachingEmbeddingGenerator? Cache { get; } = cache;

        public void Dispose()
        {
            // The cache disposes the encoder it wraps.
            if (Cache is not null)
            {
                Cache.Dispose();
            }
            else
            {
                onnx.Dispose();
            }
        }
    }

    /// <summary>Reports on the caller's thread, so the display sees every update before the verb returns.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
