using LlmAdapt.Embeddings;
using LlmAdapt.Training.Embeddings;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Tests.Embeddings;

public sealed class DiskCachingEmbeddingGeneratorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-cache-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task SecondProcess_ReadsFromDisk_WithoutCallingTheEncoder()
    {
        var inner = HashingEmbeddingGenerator.WordsAndBigrams(32);
        using (var first = new DiskCachingEmbeddingGenerator(inner, _dir))
        {
            await first.GenerateAsync(["alpha", "beta", "alpha"]);
            Assert.Equal(2, inner.Inputs);
        }

        var fresh = HashingEmbeddingGenerator.WordsAndBigrams(32);
        using var second = new DiskCachingEmbeddingGenerator(fresh, _dir);
        var result = await second.GenerateAsync(["beta", "gamma", "alpha"]);
        Assert.Equal(1, fresh.Inputs); // only "gamma"
        Assert.Equal(2, second.Hits);
        Assert.Equal(inner.Embed("beta"), result[0].Vector.ToArray());
        Assert.Equal(inner.Embed("alpha"), result[2].Vector.ToArray());
    }

    [Fact]
    public async Task TornLastRecord_IsDropped_AndTheRestIsKept()
    {
        var inner = HashingEmbeddingGenerator.WordsAndBigrams(16);
        string file;
        using (var cache = new DiskCachingEmbeddingGenerator(inner, _dir))
        {
            await cache.GenerateAsync(["one", "two"]);
            file = cache.CacheFile;
        }

        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(stream.Length - 10); // a crash mid-append
        }

        var fresh = HashingEmbeddingGenerator.WordsAndBigrams(16);
        using (var cache = new DiskCachingEmbeddingGenerator(fresh, _dir))
        {
            var result = await cache.GenerateAsync(["one", "two", "three"]);
            Assert.Equal(2, fresh.Inputs); // "two" again, and "three"
            Assert.Equal(inner.Embed("two"), result[1].Vector.ToArray());
        }

        var third = HashingEmbeddingGenerator.WordsAndBigrams(16);
        using (var cache = new DiskCachingEmbeddingGenerator(third, _dir))
        {
            await cache.GenerateAsync(["one", "two", "three"]);
            Assert.Equal(0, third.Inputs);
        }
    }

    [Theory]
    [InlineData(3)] // inside the magic bytes
    [InlineData(14)] // inside the dimension
    [InlineData(20)] // inside the model id
    public async Task TornHeader_IsWrittenAgain_AndTheCacheWorksAfterwards(int keep)
    {
        var inner = HashingEmbeddingGenerator.WordsAndBigrams(16);
        string file;
        using (var cache = new DiskCachingEmbeddingGenerator(inner, _dir))
        {
            await cache.GenerateAsync(["one"]);
            file = cache.CacheFile;
        }

        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(keep); // a crash during the file's first write
        }

        var fresh = HashingEmbeddingGenerator.WordsAndBigrams(16);
        using (var cache = new DiskCachingEmbeddingGenerator(fresh, _dir))
        {
            var result = await cache.GenerateAsync(["one", "two"]);
            Assert.Equal(2, fresh.Inputs);
            Assert.Equal(inner.Embed("one"), result[0].Vector.ToArray());
        }

        var third = HashingEmbeddingGenerator.WordsAndBigrams(16);
        using (var cache = new DiskCachingEmbeddingGenerator(third, _dir))
        {
            await cache.GenerateAsync(["one", "two"]);
            Assert.Equal(0, third.Inputs);
        }
    }

    [Fact]
    public void DifferentModels_UseDifferentFiles()
    {
        using var a = new DiskCachingEmbeddingGenerator(HashingEmbeddingGenerator.WordsAndBigrams(16, "model/a"), _dir);
        using var b = new DiskCachingEmbeddingGenerator(HashingEmbeddingGenerator.WordsAndBigrams(16, "model/b"), _dir);
        Assert.NotEqual(a.CacheFile, b.CacheFile);
    }

    [Fact]
    public async Task OptionsWithAModelId_BypassTheCache()
    {
        var inner = HashingEmbeddingGenerator.WordsAndBigrams(16);
        using var cache = new DiskCachingEmbeddingGenerator(inner, _dir);
        await cache.GenerateAsync(["x"]);
        await cache.GenerateAsync(["x"], new EmbeddingGenerationOptions { ModelId = "test/hashing-512" });
        Assert.Equal(2, inner.Inputs);
    }
}
