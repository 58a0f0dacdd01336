using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Onnx.Graph;
using LlmAdapt.Onnx.Tests.Graph;
using Onnx;
using Xunit.Abstractions;

namespace LlmAdapt.Onnx.Tests.Embeddings;

public sealed class Int8EmbeddingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("llmadapt-int8-").FullName;

    [Fact]
    public async Task Int8_StaysCloseToFloat32()
    {
        // 64 SST-2 dev sentences, their first 1-5 words, and 8 Cranfield abstracts (the first of each file).
        var dev = EmbeddingTestData.Sst2Sentences("dev").Take(64).ToList();
        var texts = dev
            .Concat(dev.Select((s, i) => string.Join(' ', s.Split(' ').Take(1 + (i % 5)))))
            .Concat(File.ReadLines(EmbeddingTestData.PathOf("data/retrieval/cranfield/beir/corpus.jsonl")).Take(8)
                .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!))
            .ToArray();
        using var fp32 = OnnxEmbeddingGenerator.CreateDefault();
        using var int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8, CacheDirectory = _cache });

        var a = await fp32.GenerateAsync(texts);
        var b = await int8.GenerateAsync(texts);

        Assert.Equal(EmbeddingPrecision.Int8, int8.Precision);
        var cosines = Enumerable.Range(0, texts.Length).Select(i => EmbeddingTestData.Cosine(a[i].Vector.Span, b[i].Vector.Span)).ToArray();
        output.WriteLine($"int8 vs fp32 cosine: min {cosines.Min():F4}, mean {cosines.Average():F4}");

        // The bar: every embedding within cosine 0.99 of fp32 (short texts are the hardest; see docs/embeddings.md).
        Assert.True(cosines.Average() > 0.997, $"mean {cosines.Average():F4}");
        Assert.True(cosines.Min() >= 0.99, $"min {cosines.Min():F4} ('{texts[Array.IndexOf(cosines, cosines.Min())]}')");
        Assert.Single(Directory.GetFiles(_cache, "*.int8-v*.onnx"));
    }

    [Fact]
    public async Task Int8_StaysCloseToFloat32_OnSampledCranfieldAbstracts()
    {
        // 24 of the 1,400 Cranfield abstracts (title + text, as the benchmark embeds them), drawn with seed 20261203:
        // the corpus compare embeddings times, where the attention context is now quantized per tensor.
        var dataset = await LlmAdapt.Retrieval.Evaluation.BeirDataset.LoadAsync(EmbeddingTestData.PathOf("data/retrieval/cranfield/beir"));
        var corpus = dataset.Corpus.Select(d => $"{d.Title} {d.Text}").ToList();
        var random = new Random(20261203);
        var texts = Enumerable.Range(0, 24).Select(_ => corpus[random.Next(corpus.Count)]).ToArray();
        using var fp32 = OnnxEmbeddingGenerator.CreateDefault();
        using var int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8, CacheDirectory = _cache });

        var a = await fp32.GenerateAsync(texts);
        var b = await int8.GenerateAsync(texts);

        var cosines = Enumerable.Range(0, texts.Length).Select(i => EmbeddingTestData.Cosine(a[i].Vector.Span, b[i].Vector.Span)).ToArray();
        output.WriteLine($"int8 vs fp32 on {texts.Length} Cranfield abstracts: min {cosines.Min():F4}, mean {cosines.Average():F4}");
        Assert.True(cosines.Min() >= 0.99, $"min {cosines.Min():F4}");
        Assert.True(cosines.Average() > 0.997, $"mean {cosines.Average():F4}");
    }

    [Fact]
    public void Int8_DefaultsToSmallerBatchesThanFloat32_UnlessSet()
    {
        Assert.Equal(512, new OnnxEmbeddingOptions().ResolveMaxBatchTokens());
        Assert.Equal(256, new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8 }.ResolveMaxBatchTokens());
        Assert.Equal(1024, new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8, MaxBatchTokens = 1024 }.ResolveMaxBatchTokens());
    }

    [Fact]
    public async Task Int8_ATextBarelyDependsOnItsBatchMates()
    {
        // Per-tensor quantization let one long or unusual text coarsen every other text of its batch (cosine 0.991
        // between a sentence alone and in a batch of 32); per-row quantization of the attention context and GELU
        // output brings that to 0.998 (layer-norm outputs still share one scale per batch, so it is not exactly 1).
        var batch = EmbeddingTestData.Sst2Sentences("dev").Skip(100).Take(32).ToArray();
        using var int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8, CacheDirectory = _cache });

        var together = await int8.GenerateAsync(batch);
        var worst = 1.0;
        foreach (var i in new[] { 0, 7, 31 })
        {
            var alone = await int8.GenerateAsync([batch[i]]);
            worst = Math.Min(worst, EmbeddingTestData.Cosine(alone[0].Vector.Span, together[i].Vector.Span));
        }

        output.WriteLine($"alone vs in a batch of 32: min cosine {worst:F6}");
        Assert.True(worst > 0.996, $"min cosine {worst:F6}");
    }

    [Fact]
    public void Cache_ReusesAValidFileAndRebuildsACorruptOne()
    {
        var source = Int8WeightQuantizerTests.ReadDefaultModel();

        var path = Int8ModelCache.GetOrCreate("model.onnx", source, _cache, "minilm", DefaultEmbeddingModel.Tokenizer, 256);
        var written = File.GetLastWriteTimeUtc(path);
        var again = Int8ModelCache.GetOrCreate("model.onnx", source, _cache, "minilm", DefaultEmbeddingModel.Tokenizer, 256);

        Assert.Equal(path, again);
        Assert.Equal(written, File.GetLastWriteTimeUtc(path));
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(Int8WeightQuantizer.Version, OnnxModels.GetMetadata(model, Int8ModelCache.VersionKey));
        Assert.Equal(OnnxModels.Sha256(source), OnnxModels.GetMetadata(model, Int8ModelCache.SourceKey));

        File.WriteAllBytes(path, [1, 2, 3]);
        var rebuilt = Int8ModelCache.GetOrCreate("model.onnx", source, _cache, "minilm", DefaultEmbeddingModel.Tokenizer, 256);
        Assert.Equal(path, rebuilt);
        Assert.True(new FileInfo(path).Length > 1_000_000);
        Assert.Empty(Directory.GetFiles(_cache, "*.tmp"));
    }

    public void Dispose() => Directory.Delete(_cache, recursive: true);
}
