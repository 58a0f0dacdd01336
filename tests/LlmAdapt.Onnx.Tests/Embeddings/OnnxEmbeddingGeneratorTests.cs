using LlmAdapt.Onnx.Embeddings;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Onnx.Tests.Embeddings;

public sealed class OnnxEmbeddingGeneratorTests
{
    private static readonly OnnxEmbeddingGenerator s_default = OnnxEmbeddingGenerator.CreateDefault();

    [Fact]
    public async Task Default_CheckSentence_Is20TokensAndMatchesReferenceValue()
    {
        var result = await s_default.GenerateAsync([EmbeddingTestData.CheckSentence]);

        Assert.Equal(20, result.Usage?.InputTokenCount);
        var vector = result[0].Vector.Span;
        Assert.Equal(384, vector.Length);
        Assert.Equal(-0.01079, vector[0], 1e-4);
        Assert.Equal(1.0, Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(vector, vector)), 1e-5);
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", result[0].ModelId);
        Assert.Equal(0, result.Usage?.AdditionalCounts?["truncated_texts"]);
    }

    [Fact]
    public void Default_Metadata_NamesModelAndDimension()
    {
        Assert.Equal("onnxruntime", s_default.Metadata.ProviderName);
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", s_default.Metadata.DefaultModelId);
        Assert.Equal(384, s_default.Metadata.DefaultModelDimensions);
        Assert.Same(s_default.Metadata, s_default.GetService<EmbeddingGeneratorMetadata>());
        Assert.Equal(256, s_default.MaxSequenceLength);
    }

    [Fact]
    public async Task Batch_OfMixedLengths_ReturnsEachTextsOwnEmbeddingInInputOrder()
    {
        var texts = EmbeddingTestData.Sst2Sentences("dev").Take(40).Reverse().ToArray();
        var batched = await s_default.GenerateAsync(texts);

        Assert.Equal(texts.Length, batched.Count);
        foreach (var i in new[] { 0, 7, 19, 39 })
        {
            var alone = await s_default.GenerateAsync([texts[i]]);
            Assert.True(EmbeddingTestData.Cosine(alone[0].Vector.Span, batched[i].Vector.Span) > 0.99999, $"text {i} differs when batched");
        }

        // Different texts give clearly different embeddings, so the order check above can fail.
        Assert.True(EmbeddingTestData.Cosine(batched[0].Vector.Span, batched[1].Vector.Span) < 0.95);
    }

    [Fact]
    public async Task EmptyString_EmbedsAsClsSep()
    {
        var result = await s_default.GenerateAsync(["", "a film"]);

        Assert.Equal(2 + 4, result.Usage?.InputTokenCount);
        Assert.All(result[0].Vector.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1.0, Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(result[0].Vector.Span, result[0].Vector.Span)), 1e-5);
    }

    [Fact]
    public async Task NullInBatch_ThrowsNamingIndex()
    {
        var ex = await Assert.ThrowsAsync<InvalidBatchItemException>(() => s_default.GenerateAsync(["one", "two", null!]));

        Assert.Equal(2, ex.Index);
        Assert.Contains("values[2]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LongText_IsTruncatedAndReported()
    {
        // A head and a tail about different things, each longer than the model's 256 tokens on its own.
        var head = string.Join(' ', Enumerable.Repeat("aerodynamic boundary layer", 100));
        var tail = string.Join(' ', Enumerable.Repeat("garlic soup recipe", 100));
        var longText = head + " " + tail;
        var logger = new ListLogger();
        using var generator = OnnxEmbeddingGenerator.CreateDefault(logger: logger);

        var result = await generator.GenerateAsync([longText, "short"]);

        Assert.Equal(1, result.Usage?.AdditionalCounts?["truncated_texts"]);
        var dropped = result.Usage!.AdditionalCounts!["truncated_tokens"];
        Assert.True(dropped > 100, $"dropped {dropped}");
        Assert.Equal(dropped, Convert.ToInt64(result[0].AdditionalProperties!["truncated_tokens"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Null(result[1].AdditionalProperties);
        Assert.Equal(256 + 3, result.Usage.InputTokenCount);
        Assert.Contains(logger.Messages, m => m.Contains("Truncated 1 of 2 texts to 256 tokens", StringComparison.Ordinal));

        // The rule: the first 254 word pieces are kept, so a text that is already longer than that embeds the same.
        var fromHead = await generator.GenerateAsync([head, tail]);
        Assert.True(EmbeddingTestData.Cosine(fromHead[0].Vector.Span, result[0].Vector.Span) > 0.9999);
        var toTail = EmbeddingTestData.Cosine(fromHead[1].Vector.Span, result[0].Vector.Span);
        Assert.True(toTail < 0.8, $"cosine to the tail {toTail}: the tail, not the head, was kept");
    }

    [Fact]
    public async Task CancelledToken_ThrowsBeforeWork()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s_default.GenerateAsync(["text"], null, cts.Token));
    }

    [Fact]
    public void Cancellation_StopsBetweenBatches()
    {
        using var generator = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { MaxBatchSize = 2, ConcurrentBatches = 1 });
        using var cts = new CancellationTokenSource();
        var texts = EmbeddingTestData.Sst2Sentences("dev").Take(20).ToArray();
        var batches = 0;
        var progress = new SyncProgress(done =>
        {
            batches++;
            cts.Cancel();
        });

        Assert.ThrowsAny<OperationCanceledException>(() => generator.Embed(texts, "texts", out _, out _, progress, cts.Token));
        Assert.Equal(1, batches);
    }

    [Fact]
    public void ConcurrentBatches_GiveExactlyTheVectorsOfOneLaneInInputOrder()
    {
        // Same batch size and thread count on both sides, so every batch is the same model call.
        using var oneLane = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { MaxBatchSize = 4, IntraOpThreads = 1, ConcurrentBatches = 1 });
        using var threeLanes = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { MaxBatchSize = 4, IntraOpThreads = 1, ConcurrentBatches = 3 });
        var texts = EmbeddingTestData.Sst2Sentences("dev").Skip(200).Take(50).Reverse().ToArray();
        var reports = new System.Collections.Concurrent.ConcurrentBag<int>();

        var oneLaneReports = new List<int>();
        var expected = oneLane.Embed(texts, "texts", out var expectedUsage, out _, new SyncProgress(oneLaneReports.Add), CancellationToken.None);
        var actual = threeLanes.Embed(texts, "texts", out var usage, out _, new SyncProgress(reports.Add), CancellationToken.None);

        Assert.Equal(expectedUsage.InputTokenCount, usage.InputTokenCount);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }

        Assert.Equal(texts.Length, reports.Max());
        Assert.Equal(oneLaneReports.Count, reports.Count); // the same batches
        Assert.InRange(reports.Count, 13, 50); // 50 texts in batches of at most 4
    }

    [Fact]
    public void Batches_CloseRatherThanPad()
    {
        // Eight 3-token texts and eight 10-token texts fit one batch of 32, but together 44% of its cells would be padding.
        using var generator = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { MaxBatchSize = 32, ConcurrentBatches = 1 });
        var texts = Enumerable.Range(0, 16).Select(i => i % 2 == 0 ? "word" : "one two three four five six seven eight").ToArray();
        var reports = new List<int>();

        var vectors = generator.Embed(texts, "texts", out var usage, out _, new SyncProgress(reports.Add), CancellationToken.None);

        Assert.Equal([8, 16], reports);
        Assert.Equal((8 * 3) + (8 * 10), usage.InputTokenCount);
        Assert.Equal(vectors[0], vectors[2]);
    }

    [Fact]
    public void ConcurrentBatches_StopAtCancellationWithAtMostOneBatchPerLaneInFlight()
    {
        using var generator = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { MaxBatchSize = 2, IntraOpThreads = 1, ConcurrentBatches = 2 });
        using var cts = new CancellationTokenSource();
        var texts = EmbeddingTestData.Sst2Sentences("dev").Take(40).ToArray();
        var batches = 0;
        var progress = new SyncProgress(_ =>
        {
            Interlocked.Increment(ref batches);
            cts.Cancel();
        });

        Assert.ThrowsAny<OperationCanceledException>(() => generator.Embed(texts, "texts", out _, out _, progress, cts.Token));
        Assert.InRange(Volatile.Read(ref batches), 1, 2);
    }

    [Fact]
    public void Parallelism_DefaultsToOneSingleThreadedLanePerCore()
    {
        var cores = Environment.ProcessorCount;
        Assert.Equal((1, cores), new OnnxEmbeddingOptions().ResolveParallelism());
        Assert.Equal((2, Math.Max(1, cores / 2)), new OnnxEmbeddingOptions { IntraOpThreads = 2 }.ResolveParallelism());
        Assert.Equal((Math.Max(1, cores / 2), 2), new OnnxEmbeddingOptions { ConcurrentBatches = 2 }.ResolveParallelism());
        Assert.Equal((3, 1), new OnnxEmbeddingOptions { IntraOpThreads = 3, ConcurrentBatches = 1 }.ResolveParallelism());
    }

    [Fact]
    public async Task ManyCallers_AtOnce_GetTheSameResultsAsOneAtATime()
    {
        var sentences = EmbeddingTestData.Sst2Sentences("dev").Skip(100).Take(96).ToArray();
        var chunks = sentences.Chunk(24).ToArray();
        var sequential = new List<float[]>();
        foreach (var chunk in chunks)
        {
            var r = await s_default.GenerateAsync(chunk);
            sequential.AddRange(r.Select(e => e.Vector.ToArray()));
        }

        var parallel = await Task.WhenAll(chunks.Select(chunk => Task.Run(() => s_default.GenerateAsync(chunk))));
        var flat = parallel.SelectMany(r => r.Select(e => e.Vector.ToArray())).ToList();

        Assert.Equal(sequential.Count, flat.Count);
        for (var i = 0; i < flat.Count; i++)
        {
            Assert.True(EmbeddingTestData.Cosine(sequential[i], flat[i]) > 0.99999, $"text {i}");
        }
    }

    [Fact]
    public async Task RequestedDimensions_OtherThanModels_Throws()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => s_default.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 768 }));
    }

    [Fact]
    public void InvalidOptions_AreRefusedAtCreation()
    {
        var ex = Assert.Throws<InvalidOptionsException>(() => OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { MaxBatchSize = 0, MaxSequenceLength = 1 }));
        Assert.Contains("MaxBatchSize", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxSequenceLength", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_SplitsEveryAsciiSymbolAsHuggingFaceDoes()
    {
        var tokens = s_default.Tokenizer.EncodeToTokens("in `` stuart_little 2 `` costs $5 & Café", out _).Select(t => t.Value).ToArray();

        Assert.Equal(["in", "`", "`", "stuart", "_", "little", "2", "`", "`", "costs", "$", "5", "&", "cafe"], tokens);
    }

    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
