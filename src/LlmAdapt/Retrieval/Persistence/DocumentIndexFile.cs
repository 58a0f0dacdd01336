using System.Security.Cryptography;
using System.Text;
using LlmAdapt.Formats;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Retrieval.Persistence;

/// <summary>
/// Saves a <see cref="DocumentIndex"/> (chunks, metadata, access lists, BM25 postings, vectors, HNSW graph) to one
/// file and loads it back. The file starts with a magic number and a format version and ends with a SHA-256 of its
/// contents; it is written to a temporary file beside the target, flushed to disk and renamed over the target, so a
/// crash in the middle of a save leaves the previous file intact.
/// </summary>
public static class DocumentIndexFile
{
    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    private static readonly byte[] s_magic = "LLMAIDX\0"u8.ToArray();

    /// <summary>Saves <paramref name="index"/> to <paramref name="path"/>, replacing the file atomically.</summary>
    /// <param name="index">The index; searches may continue while it is saved, writes wait.</param>
    /// <param name="path">The target file.</param>
    /// <param name="cancellationToken">Stops the save; the previous file stays.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static Task SaveAsync(DocumentIndex index, string path, CancellationToken cancellationToken = default) =>
        SaveAsync(index, path, wrap: null, cancellationToken);

    /// <summary>Loads an index saved by <see cref="SaveAsync(DocumentIndex, string, CancellationToken)"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Stops loading.</param>
    /// <returns>The index.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelLoadException">The file is not an index, has another format version, or fails its checksum.</exception>
    public static async Task<DocumentIndex> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such index file.", path);
        }

        var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        var headerLength = s_magic.Length + sizeof(int) + sizeof(long);
        if (bytes.Length < headerLength + 32 || !bytes.AsSpan(0, s_magic.Length).SequenceEqual(s_magic))
        {
            throw new ModelLoadException(path, "not an LlmAdapt index file (bad magic number or too short).", null);
        }

        var version = BitConverter.ToInt32(bytes, s_magic.Length);
        if (version != FormatVersion)
        {
            throw new ModelLoadException(path, $"index format version {version}; this build reads version {FormatVersion}. Rebuild the index.", null);
        }

        var length = BitConverter.ToInt64(bytes, s_magic.Length + sizeof(int));
        if (length < 0 || headerLength + length + 32 != bytes.Length)
        {
            throw new ModelLoadException(path, $"the file is {bytes.Length} bytes but its header announces {length} bytes of contents plus header and checksum: it is truncated or corrupt.", null);
        }

        var payload = bytes.AsMemory(headerLength, (int)length);
        var expected = bytes.AsSpan(headerLength + (int)length, 32);
        if (!SHA256.HashData(payload.Span).AsSpan().SequenceEqual(expected))
        {
            throw new ModelLoadException(path, "checksum mismatch: the file is corrupt.", null);
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, headerLength, (int)length, writable: false), Encoding.UTF8);
            return Read(reader);
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or ArgumentException or IOException)
        {
            throw new ModelLoadException(path, $"the contents are malformed: {ex.Message}", ex);
        }
    }

    internal static async Task SaveAsync(DocumentIndex index, string path, Func<Stream, Stream>? wrap, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] payload;
        using (var buffer = new MemoryStream())
        {
            using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
            {
                Write(index, writer);
            }

            payload = buffer.ToArray();
        }

        var hash = SHA256.HashData(payload);
        await AtomicFile.WriteAsync(path, async (file, token) =>
        {
            var stream = wrap is null ? file : wrap(file);
            await stream.WriteAsync(s_magic, token).ConfigureAwait(false);
            await stream.WriteAsync(BitConverter.GetBytes(FormatVersion), token).ConfigureAwait(false);
            await stream.WriteAsync(BitConverter.GetBytes((long)payload.Length), token).ConfigureAwait(false);
            for (var offset = 0; offset < payload.Length; offset += 1 << 20)
            {
                await stream.WriteAsync(payload.AsMemory(offset, Math.Min(1 << 20, payload.Length - offset)), token).ConfigureAwait(false);
            }

            await stream.WriteAsync(hash, token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private static void Write(DocumentIndex index, BinaryWriter writer)
    {
        using (index.ReadLock())
        {
            var options = index.Options;
            writer.Write((int)options.VectorIndex);
            writer.Write(options.IndexTitles);
            writer.Write(options.NormalizeVectors);
            writer.Write(options.RequireAccessControl);
            WriteOptional(writer, options.EmbeddingModelId);
            var slots = index.SlotCount;
            writer.Write(slots);
            var chunks = Enumerable.Range(0, slots).Select(s => (Slot: s, Chunk: index.ChunkAt(s))).Where(p => p.Chunk is not null).ToList();
            writer.Write(chunks.Count);
            foreach (var (slot, chunk) in chunks)
            {
                writer.Write(slot);
                WriteChunk(writer, chunk!);
            }

            index.Keyword.Write(writer);
            switch (index.Vectors)
            {
                case null:
                    writer.Write((byte)0);
                    break;
                case HnswVectorIndex hnsw:
                    writer.Write((byte)2);
                    writer.Write(hnsw.Dimensions);
                    hnsw.Write(writer);
                    break;
                case var vectors:
                    writer.Write((byte)1);
                    writer.Write(vectors.Dimensions);
                    var vector = new float[vectors.Dimensions];
                    var stored = chunks.Where(p => vectors.TryGetVector(p.Slot, vector)).Select(p => p.Slot).ToList();
                    writer.Write(stored.Count);
                    foreach (var slot in stored)
                    {
                        vectors.TryGetVector(slot, vector);
                        writer.Write(slot);
                        foreach (var value in vector)
                        {
                            writer.Write(value);
                        }
                    }

                    break;
            }
        }
    }

    private static DocumentIndex Read(BinaryReader reader)
    {
        var options = new DocumentIndexOptions
        {
            VectorIndex = (VectorIndexKind)reader.ReadInt32(),
            IndexTitles = reader.ReadBoolean(),
            NormalizeVectors = reader.ReadBoolean(),
            RequireAccessControl = reader.ReadBoolean(),
            EmbeddingModelId = ReadOptional(reader),
        };
        var slots = reader.ReadInt32();
        var count = reader.ReadInt32();
        if (slots < 0 || count < 0 || count > slots)
        {
            throw new InvalidDataException($"{count} chunks in {slots} slots.");
        }

        var chunks = new List<(int, DocumentChunk)>(count);
        for (var i = 0; i < count; i++)
        {
            var slot = reader.ReadInt32();
            if ((uint)slot >= (uint)slots)
            {
                throw new InvalidDataException($"chunk slot {slot} of {slots}.");
            }

            chunks.Add((slot, ReadChunk(reader)));
        }

        var keyword = Bm25Index.Read(reader, TextAnalyzer.English);
        options.Bm25 = new Bm25Options { K1 = keyword.K1, B = keyword.B };
        IVectorIndex? vectors = null;
        switch (reader.ReadByte())
        {
            case 0:
                break;
            case 1:
            {
                var dimensions = reader.ReadInt32();
                var flat = new FlatVectorIndex(dimensions);
                var stored = reader.ReadInt32();
                var vector = new float[dimensions];
                for (var i = 0; i < stored; i++)
                {
                    var slot = reader.ReadInt32();
                    for (var d = 0; d < dimensions; d++)
                    {
                        vector[d] = reader.ReadSingle();
                    }

                    flat.Upsert(slot, vector);
                }

                vectors = flat;
                break;
            }

            case 2:
                vectors = HnswVectorIndex.Read(reader, reader.ReadInt32());
                break;
            case var kind:
                throw new InvalidDataException($"unknown vector index kind {kind}.");
        }

        var index = new DocumentIndex(options, keyword, vectors);
        index.Restore(slots, chunks);
        return index;
    }

    private static void WriteChunk(BinaryWriter writer, DocumentChunk chunk)
    {
        writer.Write(chunk.Id);
        writer.Write(chunk.DocumentId);
        writer.Write(chunk.Text);
        writer.Write(chunk.Index);
        writer.Write(chunk.StartOffset);
        writer.Write(chunk.EndOffset);
        writer.Write(chunk.TokenCount);
        WriteOptional(writer, chunk.Source);
        WriteOptional(writer, chunk.Title);
        writer.Write(chunk.Metadata.Count);
        foreach (var (key, value) in chunk.Metadata)
        {
            writer.Write(key);
            writer.Write(value);
        }

        if (chunk.AllowedPrincipals is null)
        {
            writer.Write(-1);
        }
        else
        {
            writer.Write(chunk.AllowedPrincipals.Count);
            foreach (var principal in chunk.AllowedPrincipals)
            {
                writer.Write(principal);
            }
        }
    }

    private static DocumentChunk ReadChunk(BinaryReader reader)
    {
        var id = reader.ReadString();
        var documentId = reader.ReadString();
        var text = reader.ReadString();
        var index = reader.ReadInt32();
        var start = reader.ReadInt32();
        var end = reader.ReadInt32();
        var tokens = reader.ReadInt32();
        var source = ReadOptional(reader);
        var title = ReadOptional(reader);
        var metadataCount = reader.ReadInt32();
        var metadata = new Dictionary<string, string>(metadataCount, StringComparer.Ordinal);
        for (var i = 0; i < metadataCount; i++)
        {
            metadata[reader.ReadString()] = reader.ReadString();
        }

        var aclCount = reader.ReadInt32();
        List<string>? acl = null;
        if (aclCount >= 0)
        {
            acl = new List<string>(aclCount);
            for (var i = 0; i < aclCount; i++)
            {
                acl.Add(reader.ReadString());
            }
        }

        return new DocumentChunk
        {
            Id = id,
            DocumentId = documentId,
            Text = text,
            Index = index,
            StartOffset = start,
            EndOffset = end,
            TokenCount = tokens,
            Source = source,
            Title = title,
            Metadata = metadata,
            AllowedPrincipals = acl,
        };
    }

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
