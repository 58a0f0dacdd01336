using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Persistence;

namespace LlmAdapt.Tests.Retrieval;

public sealed class PersistenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-index-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(VectorIndexKind.Flat)]
    [InlineData(VectorIndexKind.Hnsw)]
    public async Task SaveThenLoad_GivesTheSameIndex(VectorIndexKind kind)
    {
        using var index = await BuildAsync(kind, 300, "v1");
        index.Remove("c7");
        var path = Path.Combine(_dir, "index.llmidx");
        await DocumentIndexFile.SaveAsync(index, path);
        using var loaded = await DocumentIndexFile.LoadAsync(path);

        Assert.Equal(index.Count, loaded.Count);
        Assert.Null(loaded.Find("c7"));
        var principal = new Principal("u1", "g2");
        foreach (var query in new[] { "wing flutter", "shock layer", "heat nozzle drag" })
        {
            Assert.Equal(Ids(index.SearchKeyword(query, 10, principal: principal)), Ids(loaded.SearchKeyword(query, 10, principal: principal)));
            var vector = (await new HashingEmbeddingGenerator().GenerateAsync([query]))[0].Vector.ToArray();
            Assert.Equal(Ids(index.SearchVector(vector, 10)), Ids(loaded.SearchVector(vector, 10)));
        }

        var chunk = loaded.Find("c3")!;
        Assert.Equal((index.Find("c3")!.Text, index.Find("c3")!.Title, index.Find("c3")!.Source), (chunk.Text, chunk.Title, chunk.Source));
        Assert.Equal(index.Find("c3")!.Metadata, chunk.Metadata);
        Assert.Equal(index.Find("c3")!.AllowedPrincipals, chunk.AllowedPrincipals);

        // The loaded index keeps working: updates and deletes.
        loaded.Upsert(new DocumentChunk { Id = "new", DocumentId = "n", Text = "supercalifragilistic" });
        Assert.Equal("new", Assert.Single(loaded.SearchKeyword("supercalifragilistic", 5)).Chunk.Id);
    }

    [Fact]
    public async Task SaveFaultingHalfway_LeavesThePreviousIndexLoadable()
    {
        var path = Path.Combine(_dir, "index.llmidx");
        using (var first = await BuildAsync(VectorIndexKind.Flat, 100, "v1"))
        {
            await DocumentIndexFile.SaveAsync(first, path);
        }

        var before = await File.ReadAllBytesAsync(path);
        using var second = await BuildAsync(VectorIndexKind.Flat, 200, "v2");
        await Assert.ThrowsAsync<IOException>(() => DocumentIndexFile.SaveAsync(second, path, stream => new FaultingStream(stream, failAfterBytes: 20_000), CancellationToken.None));

        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.Equal(["index.llmidx"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        using var loaded = await DocumentIndexFile.LoadAsync(path);
        Assert.Equal(100, loaded.Count);
        Assert.StartsWith("v1", loaded.Find("c0")!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_CorruptTruncatedOrForeignFile_ThrowsNamingTheFile()
    {
        var path = Path.Combine(_dir, "index.llmidx");
        using (var index = await BuildAsync(VectorIndexKind.Flat, 50, "v1"))
        {
            await DocumentIndexFile.SaveAsync(index, path);
        }

        var bytes = await File.ReadAllBytesAsync(path);
        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(path, flipped);
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => DocumentIndexFile.LoadAsync(path));
        Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.FilePath);

        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length - 100)]);
        Assert.Contains("truncated", (await Assert.ThrowsAsync<ModelLoadException>(() => DocumentIndexFile.LoadAsync(path))).Message, StringComparison.Ordinal);

        var otherVersion = (byte[])bytes.Clone();
        otherVersion[8] = 99;
        await File.WriteAllBytesAsync(path, otherVersion);
        Assert.Contains("version 99", (await Assert.ThrowsAsync<ModelLoadException>(() => DocumentIndexFile.LoadAsync(path))).Message, StringComparison.Ordinal);

        await File.WriteAllTextAsync(path, "just some text that is not an index at all, long enough to pass the size check........");
        Assert.Contains("not an LlmAdapt index", (await Assert.ThrowsAsync<ModelLoadException>(() => DocumentIndexFile.LoadAsync(path))).Message, StringComparison.Ordinal);
    }

    private static async Task<DocumentIndex> BuildAsync(VectorIndexKind kind, int count, string prefix)
    {
        string[] words = ["wing", "flutter", "shock", "boundary", "layer", "heat", "panel", "nozzle", "drag"];
        var random = new Random(7);
        var generator = new HashingEmbeddingGenerator();
        var index = new DocumentIndex(new DocumentIndexOptions { VectorIndex = kind });
        for (var i = 0; i < count; i++)
        {
            var text = prefix + " " + string.Join(' ', Enumerable.Range(0, 6).Select(_ => words[random.Next(words.Length)]));
            var chunk = new DocumentChunk
            {
                Id = $"c{i}",
                DocumentId = $"d{i / 3}",
                Text = text,
                Title = $"Doc {i / 3}",
                Source = $"docs/{i / 3}.md",
                Metadata = new Dictionary<string, string> { ["team"] = $"t{i % 4}" },
                AllowedPrincipals = i % 5 == 0 ? null : [$"g{i % 3}", "u1"],
                EndOffset = text.Length,
                TokenCount = 7,
            };
            index.Upsert(chunk, (await generator.GenerateAsync([text]))[0].Vector.Span);
        }

        return index;
    }

    private static string[] Ids(IReadOnlyList<RetrievedChunk> results) => [.. results.Select(r => r.Chunk.Id)];

    private sealed class FaultingStream(Stream inner, long failAfterBytes) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var room = (int)Math.Max(0, failAfterBytes - _written);
            await inner.WriteAsync(buffer[..Math.Min(room, buffer.Length)], cancellationToken);
            _written += buffer.Length;
            if (_written > failAfterBytes)
            {
                await inner.FlushAsync(cancellationToken);
                throw new IOException("Simulated crash: the disk went away in the middle of the save.");
            }
        }
    }
}
