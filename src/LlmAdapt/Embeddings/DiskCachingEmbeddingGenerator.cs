using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Embeddings;

/// <summary>
/// Keeps every embedding the inner generator makes in an append-only file on disk, keyed by the model's identity and
/// the SHA-256 of the text, so a dataset is embedded once however many heads are trained on it. One file per model in
/// <see cref="Directory"/>; a torn last record (a crash mid-append) is dropped when the file is next opened.
/// Requests that set <see cref="EmbeddingGenerationOptions.ModelId"/> or <see cref="EmbeddingGenerationOptions.Dimensions"/>
/// bypass the cache. Thread-safe; requests are served one at a time.
/// </summary>
/// <remarks>
/// Microsoft.Extensions.AI's <c>DistributedCachingEmbeddingGenerator</c> caches through <c>IDistributedCache</c>, one
/// JSON entry per text: at tens of thousands of texts a single binary file loads in a fraction of the time.
/// </remarks>
public sealed class DiskCachingEmbeddingGenerator : DelegatingEmbeddingGenerator<string, Embedding<float>>
{
    private const int Version = 1;
    private static readonly byte[] s_magic = "LAEMBED\0"u8.ToArray();

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _modelId;
    private Dictionary<UInt128Key, float[]>? _entries;
    private int _dimension;
    private long _hits;
    private long _misses;

    /// <summary>Initializes the cache over <paramref name="innerGenerator"/>.</summary>
    /// <param name="innerGenerator">The encoder whose embeddings are cached.</param>
    /// <param name="directory">The folder of cache files; created when needed.</param>
    /// <param name="modelId">The model's identity for the key, or <see langword="null"/> to take the inner generator's
    /// <see cref="EmbeddingGeneratorMetadata.DefaultModelId"/>.</param>
    /// <exception cref="ArgumentException">No model identity is given and the inner generator reports none.</exception>
    public DiskCachingEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> innerGenerator, string directory, string? modelId = null)
        : base(innerGenerator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _modelId = modelId ?? (innerGenerator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId is { Length: > 0 } reported ? reported : null)
            ?? throw new ArgumentException("The embedding generator reports no model id; pass one so cached embeddings are keyed by their model.", nameof(modelId));
        Directory = Path.GetFullPath(directory);
        var safe = new string(_modelId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_modelId)))[..12];
        CacheFile = Path.Combine(Directory, $"{safe[..Math.Min(safe.Length, 60)]}-{hash}.embcache");
    }

    /// <summary>
    /// Gets the folder the tool and the examples cache embeddings in when none is given: <c>LLMADAPT_EMBEDDING_CACHE</c> when
    /// set, otherwise <c>LlmAdapt/embeddings</c> under the user's local application data folder (the temporary folder
    /// when there is none).
    /// </summary>
    public static string DefaultDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable(CacheEnvironmentVariable) is { } fromEnvironment && !string.IsNullOrWhiteSpace(fromEnvironment))
            {
                return Path.GetFullPath(fromEnvironment);
            }

            var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return Path.Combine(string.IsNullOrEmpty(root) ? Path.GetTempPath() : root, "LlmAdapt", "embeddings");
        }
    }

    /// <summary>The environment variable that moves <see cref="DefaultDirectory"/>.</summary>
    public const string CacheEnvironmentVariable = "LLMADAPT_EMBEDDING_CACHE";

    /// <summary>Gets the cache folder.</summary>
    public string Directory { get; }

    /// <summary>Gets the file this model's embeddings are kept in.</summary>
    public string CacheFile { get; }

    /// <summary>Gets how many texts were served from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Gets how many texts went to the inner generator.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <inheritdoc />
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.ModelId is not null || options?.Dimensions is not null)
        {
            return await base.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
        }

        var texts = values as IReadOnlyList<string> ?? [.. values];
        var keys = texts.Select(KeyOf).ToArray();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var entries = _entries ??= Load();
            var missing = new List<int>();
            var seen = new HashSet<UInt128Key>();
            for (var i = 0; i < texts.Count; i++)
            {
                if (!entries.ContainsKey(keys[i]) && seen.Add(keys[i]))
                {
                    missing.Add(i);
                }
            }

            Interlocked.Add(ref _hits, texts.Count - missing.Count);
            Interlocked.Add(ref _misses, missing.Count);
            if (missing.Count > 0)
            {
                var generated = await base.GenerateAsync(missing.Select(i => texts[i]).ToArray(), options, cancellationToken).ConfigureAwait(false);
                if (generated.Count != missing.Count)
                {
                    throw new LlmAdaptException($"The embedding generator returned {generated.Count} embeddings for {missing.Count} texts.");
                }

                var fresh = new List<(UInt128Key, float[])>(missing.Count);
                for (var j = 0; j < missing.Count; j++)
                {
                    var vector = generated[j].Vector.ToArray();
                    fresh.Add((keys[missing[j]], vector));
                }

                Append(fresh);
                foreach (var (key, vector) in fresh)
                {
                    entries[key] = vector;
                }
            }

            var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
            for (var i = 0; i < texts.Count; i++)
            {
                result.Add(new Embedding<float>(entries[keys[i]]) { ModelId = _modelId });
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gate.Dispose();
        }

        base.Dispose(disposing);
    }

    private static UInt128Key KeyOf(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return new UInt128Key(BinaryPrimitives.ReadUInt128LittleEndian(hash), BinaryPrimitives.ReadUInt128LittleEndian(hash[16..]));
    }

    /// <summary>Gets the header's length in bytes: magic, version, dimension, and the model id as a length-prefixed string.</summary>
    private int HeaderLength => s_magic.Length + 8 + Encoding.UTF8.GetByteCount(_modelId) + 1 + (Encoding.UTF8.GetByteCount(_modelId) >= 128 ? 1 : 0);

    private Dictionary<UInt128Key, float[]> Load()
    {
        var entries = new Dictionary<UInt128Key, float[]>();
        if (!File.Exists(CacheFile))
        {
            return entries;
        }

        using var stream = new FileStream(CacheFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        if (stream.Length < HeaderLength)
        {
            return entries; // a header torn by a crash during the first write: the next append starts the file again
        }

        using var reader = new BinaryReader(stream);
        try
        {
            if (!reader.ReadBytes(s_magic.Length).AsSpan().SequenceEqual(s_magic) || reader.ReadInt32() != Version)
            {
                throw new InvalidDataFileException(CacheFile, 0, "not an LlmAdapt embedding cache of version 1; delete it to rebuild.");
            }

            _dimension = reader.ReadInt32();
            var storedModel = reader.ReadString();
            if (!string.Equals(storedModel, _modelId, StringComparison.Ordinal))
            {
                throw new InvalidDataFileException(CacheFile, 0, $"the cache holds embeddings of '{storedModel}', not '{_modelId}'.");
            }
        }
        catch (EndOfStreamException)
        {
            return entries; // a header torn by a crash: start again
        }

        var recordLength = 32 + (_dimension * 4);
        var record = new byte[recordLength];
        while (stream.Length - stream.Position >= recordLength)
        {
            stream.ReadExactly(record);
            var key = new UInt128Key(BinaryPrimitives.ReadUInt128LittleEndian(record), BinaryPrimitives.ReadUInt128LittleEndian(record.AsSpan(16)));
            entries[key] = MemoryMarshal.Cast<byte, float>(record.AsSpan(32)).ToArray();
        }

        return entries;
    }

    private void Append(List<(UInt128Key Key, float[] Vector)> fresh)
    {
        var dimension = fresh[0].Vector.Length;
        if (fresh.Any(f => f.Vector.Length != dimension))
        {
            return; // an encoder with ragged output is not cached; the caller's checks report it
        }

        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            using var stream = new FileStream(CacheFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 20);
            var headerLength = HeaderLength;
            if (stream.Length < headerLength)
            {
                // A new file, or a header torn by a crash during the first write: start the file again.
                stream.SetLength(0);
                using var header = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                header.Write(s_magic);
                header.Write(Version);
                header.Write(dimension);
                header.Write(_modelId);
                _dimension = dimension;
            }
            else if (_dimension != dimension)
            {
                return;
            }

            // Drop a torn last record before appending.
            var recordLength = 32 + (dimension * 4);
            var whole = headerLength + ((stream.Length - headerLength) / recordLength * recordLength);
            if (stream.Length > whole)
            {
                stream.SetLength(whole);
            }

            stream.Seek(0, SeekOrigin.End);
            var buffer = new byte[recordLength];
            foreach (var (key, vector) in fresh)
            {
                BinaryPrimitives.WriteUInt128LittleEndian(buffer, key.Low);
                BinaryPrimitives.WriteUInt128LittleEndian(buffer.AsSpan(16), key.High);
                MemoryMarshal.AsBytes(vector.AsSpan()).CopyTo(buffer.AsSpan(32));
                stream.Write(buffer);
            }

            stream.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            // Another process holds the file: the embeddings are still returned, just not kept this time.
        }
    }

    private readonly record struct UInt128Key(UInt128 Low, UInt128 High);
}
