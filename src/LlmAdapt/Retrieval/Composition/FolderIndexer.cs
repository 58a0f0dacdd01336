using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LlmAdapt.Formats;
using LlmAdapt.Retrieval.Chunking;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Persistence;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Composition;

/// <summary>
/// Folder → chunks → index: reads the Markdown and text files of a folder (<see cref="DocumentFolder"/>), chunks
/// Markdown by its headings (<see cref="MarkdownChunker"/>) and text recursively (<see cref="RecursiveChunker"/>),
/// embeds the chunks when a model is given and indexes them for BM25 and vector search. <see cref="LoadOrBuildAsync"/>
/// keeps the result in a cache folder, reused while the folder's files, the settings and the model are unchanged.
/// </summary>
public static class FolderIndexer
{
    /// <summary>The cache folder <see cref="LoadOrBuildAsync"/> uses inside the documents folder when given none.</summary>
    public const string DefaultCacheFolderName = ".llmadapt-cache";

    /// <summary>Reads and chunks the documents under <paramref name="folder"/>, for a store other than an in-process index.</summary>
    /// <param name="folder">The documents folder, read recursively.</param>
    /// <param name="options">Chunk sizes and access lists, or <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The chunks, with the files read and skipped.</returns>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    /// <exception cref="LlmAdaptException">The folder holds no readable Markdown or text file with content.</exception>
    public static async Task<FolderChunks> ReadChunksAsync(string folder, FolderIndexOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= new FolderIndexOptions();
        OptionsValidator.ThrowIfInvalid(options);
        var chunking = new ChunkerOptions { MaxTokens = options.MaxTokens, OverlapTokens = options.OverlapTokens };
        var counter = options.TokenCounter ?? TokenCounter.ForModel(TokenCounter.DefaultModel);
        IChunker markdown = new MarkdownChunker(counter, chunking);
        IChunker plain = new RecursiveChunker(counter, chunking);
        var (documents, skipped) = await DocumentFolder.ReadAsync(folder, cancellationToken).ConfigureAwait(false);
        if (documents.Count == 0)
        {
            throw new LlmAdaptException($"{folder}: no readable Markdown or text file with content ({skipped.Count} skipped).");
        }

        var allowed = options.AllowedPrincipals is { Count: > 0 } list ? list : null;
        var chunks = documents
            .Select(d => d with { AllowedPrincipals = allowed })
            .SelectMany(d => (DocumentFolder.IsMarkdown(d.Id) ? markdown : plain).Chunk(d))
            .ToList();
        return new FolderChunks(chunks, documents.Count, skipped);
    }

    /// <summary>Builds an index of the documents under <paramref name="folder"/>.</summary>
    /// <param name="folder">The documents folder, read recursively.</param>
    /// <param name="generator">Embeds the chunks, or <see langword="null"/> for a keyword-only index.</param>
    /// <param name="options">Chunk sizes and access lists, or <see langword="null"/> for the defaults.</param>
    /// <param name="progress">Receives how many of the folder's chunks are indexed so far, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The index, with the files read and skipped.</returns>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    /// <exception cref="LlmAdaptException">The folder holds no readable Markdown or text file with content.</exception>
    public static async Task<FolderIndex> BuildAsync(string folder, IEmbeddingGenerator<string, Embedding<float>>? generator, FolderIndexOptions? options = null, IProgress<FolderIndexProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var (chunks, files, skipped) = await ReadChunksAsync(folder, options, cancellationToken).ConfigureAwait(false);
        var index = new DocumentIndex(new DocumentIndexOptions { EmbeddingModelId = ModelIdOf(generator) });
        try
        {
            var counted = progress is null ? null : new Progress(n => progress.Report(new FolderIndexProgress(n, chunks.Count)));
            await DocumentIndexer.AddAsync(index, chunks, generator, progress: counted, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            index.Dispose();
            throw;
        }

        return new FolderIndex(index, files, skipped, FromCache: false);
    }

    /// <summary>
    /// Loads the index cached for <paramref name="folder"/> when its fingerprint (file names, sizes and times, the
    /// settings, the model and the index format version) still matches; otherwise builds it and saves it (atomically)
    /// with its fingerprint. A cached index that cannot be read is rebuilt.
    /// </summary>
    /// <param name="folder">The documents folder.</param>
    /// <param name="generator">Embeds the chunks, or <see langword="null"/> for a keyword-only index.</param>
    /// <param name="options">Chunk sizes and access lists, or <see langword="null"/> for the defaults.</param>
    /// <param name="cacheDirectory">Where the index and its fingerprint are kept, or <see langword="null"/> for <c>.llmadapt-cache</c> inside the folder.</param>
    /// <param name="progress">Receives how many of the folder's chunks are indexed so far when building.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The index; <see cref="FolderIndex.FromCache"/> says whether it was reused.</returns>
    public static async Task<FolderIndex> LoadOrBuildAsync(string folder, IEmbeddingGenerator<string, Embedding<float>>? generator, FolderIndexOptions? options = null, string? cacheDirectory = null, IProgress<FolderIndexProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= new FolderIndexOptions();
        var fingerprint = Fingerprint(folder, generator, options);
        var cache = cacheDirectory ?? Path.Combine(folder, DefaultCacheFolderName);
        var indexPath = Path.Combine(cache, "index.llmidx");
        var stampPath = Path.Combine(cache, "index.fingerprint");
        if (File.Exists(indexPath) && File.Exists(stampPath) && (await File.ReadAllTextAsync(stampPath, cancellationToken).ConfigureAwait(false)).Trim() == fingerprint)
        {
            try
            {
                return new FolderIndex(await DocumentIndexFile.LoadAsync(indexPath, cancellationToken).ConfigureAwait(false), 0, [], FromCache: true);
            }
            catch (ModelLoadException)
            {
                // A damaged cache is rebuilt below.
            }
        }

        var built = await BuildAsync(folder, generator, options, progress, cancellationToken).ConfigureAwait(false);
        await DocumentIndexFile.SaveAsync(built.Index, indexPath, cancellationToken).ConfigureAwait(false);
        await AtomicFile.WriteAllTextAsync(stampPath, fingerprint, cancellationToken).ConfigureAwait(false);
        return built;
    }

    private static string Fingerprint(string folder, IEmbeddingGenerator<string, Embedding<float>>? generator, FolderIndexOptions options)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"v{DocumentIndexFile.FormatVersion}|{(generator is null ? "none" : ModelIdOf(generator) ?? "unnamed")}|{options.MaxTokens}|{options.OverlapTokens}|{options.TokenCounter?.Name ?? TokenCounter.DefaultModel}|{string.Join(',', options.AllowedPrincipals ?? [])}\n");
        foreach (var file in DocumentFolder.ListFiles(folder))
        {
            var info = new FileInfo(file);
            text.Append(CultureInfo.InvariantCulture, $"{Path.GetRelativePath(folder, file)}|{info.Length}|{info.LastWriteTimeUtc.Ticks}\n");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string? ModelIdOf(IEmbeddingGenerator<string, Embedding<float>>? generator)
        => generator?.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId;

    // Reports synchronously (System.Progress<T> would post to the thread pool and reorder reports).
    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
