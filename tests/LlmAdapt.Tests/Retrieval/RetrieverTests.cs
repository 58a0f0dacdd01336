using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Composition;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Retrieval;

public sealed class RetrieverTests
{
    [Fact]
    public async Task Hybrid_ReciprocalRankFusion_AddsOneOverKPlusRank()
    {
        var a = new FixedRetriever("x", "y", "z");
        var b = new FixedRetriever("z", "x");
        var hybrid = new HybridRetriever([a, b]);
        var results = await hybrid.RetrieveAsync(new RetrievalRequest { Query = "q", TopK = 3 });

        Assert.Equal(["x", "z", "y"], results.Select(r => r.Chunk.Id));
        Assert.Equal((1 / 61.0) + (1 / 62.0), results[0].Score, 12);
        Assert.Equal((1 / 63.0) + (1 / 61.0), results[1].Score, 12);
        Assert.Equal([1, 2, 3], results.Select(r => r.Rank));
    }

    [Fact]
    public async Task Hybrid_WeightedScores_NormaliseEachList()
    {
        var a = new FixedRetriever(("x", 10), ("y", 5), ("z", 0));
        var b = new FixedRetriever(("z", 0.9), ("y", 0.1));
        var hybrid = new HybridRetriever([a, b], new HybridOptions { Method = FusionMethod.WeightedScore, Weights = [0.3, 0.7] });
        var results = await hybrid.RetrieveAsync(new RetrievalRequest { Query = "q", TopK = 3 });
        Assert.Equal(["z", "x", "y"], results.Select(r => r.Chunk.Id));
        Assert.Equal(0.7, results[0].Score, 12);
        Assert.Equal(0.3, results[1].Score, 12);
        Assert.Equal(0.15, results[2].Score, 12);
    }

    [Fact]
    public void Hybrid_WeightsNotMatchingRetrievers_AreRejected() =>
        Assert.Throws<InvalidOptionsException>(() => new HybridRetriever([new FixedRetriever("x")], new HybridOptions { Weights = [1, 1] }));

    [Fact]
    public async Task Mmr_PrefersANovelChunkOverANearDuplicate()
    {
        using var index = new DocumentIndex();
        index.Upsert(new DocumentChunk { Id = "a", DocumentId = "a", Text = "wing flutter wing flutter speed" });
        index.Upsert(new DocumentChunk { Id = "b", DocumentId = "b", Text = "wing flutter wing flutter speed speed" });
        index.Upsert(new DocumentChunk { Id = "c", DocumentId = "c", Text = "wing buffet at transonic speed" });
        var mmr = new MmrRetriever(new KeywordRetriever(index), new HashingEmbeddingGenerator(256), new MmrOptions { Lambda = 0.3 });
        var plain = await new KeywordRetriever(index).RetrieveAsync(new RetrievalRequest { Query = "wing flutter speed", TopK = 2 });
        var diverse = await mmr.RetrieveAsync(new RetrievalRequest { Query = "wing flutter speed", TopK = 2 });
        Assert.Equal(["a", "b"], plain.Select(r => r.Chunk.Id).Order());
        Assert.Contains("c", diverse.Select(r => r.Chunk.Id));
    }

    [Fact]
    public async Task Mmr_OverAnIndex_ComparesCandidatesByTheirStoredVectors()
    {
        // a and b are duplicates by their stored vectors though their texts share nothing; the model embeds every
        // text alike, so only the stored vectors can tell c apart, and only the query reaches the model.
        using var index = new DocumentIndex();
        index.Upsert(new DocumentChunk { Id = "a", DocumentId = "a", Text = "alpha" }, [1, 0, 0]);
        index.Upsert(new DocumentChunk { Id = "b", DocumentId = "b", Text = "beta" }, [0.99f, 0.14f, 0]);
        index.Upsert(new DocumentChunk { Id = "c", DocumentId = "c", Text = "gamma" }, [0.6f, 0.8f, 0]);
        var model = new ConstantEmbeddingGenerator([1, 0, 0.1f]);
        var mmr = new MmrRetriever(new DenseRetriever(index, model), index, model, new MmrOptions { Lambda = 0.3 });
        var before = model.Texts;

        var picked = await mmr.RetrieveAsync(new RetrievalRequest { Query = "q", TopK = 2 });

        Assert.Equal(["a", "c"], picked.Select(r => r.Chunk.Id).Order());
        Assert.Equal(before + 2, model.Texts); // the query, once by the dense retriever and once by MMR; no candidate
    }

    [Fact]
    public async Task ChatReranker_ReordersByTheModelsListAndKeepsTheRest()
    {
        var chat = new PackingTests.RecordingChatClient(_ => "3, 1");
        var reranking = new RerankingRetriever(new FixedRetriever("x", "y", "z"), new ChatClientReranker(chat), candidateCount: 3);
        var results = await reranking.RetrieveAsync(new RetrievalRequest { Query = "q", TopK = 3 });
        Assert.Equal(["z", "x", "y"], results.Select(r => r.Chunk.Id));
        Assert.Contains("UNTRUSTED DOCUMENT [3]", chat.LastMessages![1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dense_FindsTheChunkSharingTheQuerysWords()
    {
        var generator = new HashingEmbeddingGenerator(128);
        using var index = new DocumentIndex();
        foreach (var (id, text) in new[] { ("a", "nozzle exhaust plume"), ("b", "wing flutter at high speed"), ("c", "laminar boundary layer") })
        {
            index.Upsert(new DocumentChunk { Id = id, DocumentId = id, Text = text }, (await generator.GenerateAsync([text]))[0].Vector.Span);
        }

        var results = await new DenseRetriever(index, generator).RetrieveAsync(new RetrievalRequest { Query = "flutter of a wing", TopK = 1 });
        Assert.Equal("b", Assert.Single(results).Chunk.Id);
    }

    [Fact]
    public void Request_KZeroOrLess_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetrievalRequest { Query = "q", TopK = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetrievalRequest { Query = "q", TopK = -3 });
    }

    [Fact]
    public async Task Keyword_QueryOfOnlyStopWords_ReturnsNothing()
    {
        using var index = new DocumentIndex();
        index.Upsert(new DocumentChunk { Id = "a", DocumentId = "a", Text = "the wing" });
        Assert.Empty(await new KeywordRetriever(index).RetrieveAsync(new RetrievalRequest { Query = "the and of" }));
    }

    [Fact]
    public async Task FactoryCompose_FusesAnyStoresRetrieversByWeightedScoresUnlessToldOtherwise()
    {
        // b is second in both lists: weighted min-max fusion ranks it first; reciprocal-rank fusion puts a or c first.
        var keyword = new FixedRetriever(("a", 10), ("b", 9), ("c", 1));
        var dense = new FixedRetriever(("c", 0.9), ("b", 0.8), ("a", 0.1));
        var request = new RetrievalRequest { Query = "q", TopK = 3 };

        var fused = await RetrieverFactory.Compose(null, keyword, dense).RetrieveAsync(request);
        Assert.Equal("b", fused[0].Chunk.Id);
        var rrf = await RetrieverFactory.Compose("hybrid", keyword, dense, hybrid: new HybridOptions { Method = FusionMethod.ReciprocalRank }).RetrieveAsync(request);
        Assert.NotEqual("b", rrf[0].Chunk.Id);

        Assert.Same(keyword, RetrieverFactory.Compose("BM25", keyword, dense));
        Assert.Same(dense, RetrieverFactory.Compose("dense", keyword, dense));
        Assert.Same(keyword, RetrieverFactory.Compose(null, keyword, null));
        Assert.Throws<InvalidOperationException>(() => RetrieverFactory.Compose("hybrid", keyword, null));
    }

    private sealed class FixedRetriever(params (string Id, double Score)[] items) : IRetriever
    {
        public FixedRetriever(params string[] ids)
            : this([.. ids.Select((id, i) => (id, (double)(ids.Length - i)))])
        {
        }

        public Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<RetrievedChunk>>([.. items.Take(request.TopK).Select((item, i) => new RetrievedChunk
            {
                Chunk = new DocumentChunk { Id = item.Id, DocumentId = item.Id, Text = $"text of {item.Id}" },
                Score = item.Score,
                Rank = i + 1,
            })]);
    }

    private sealed class ConstantEmbeddingGenerator(float[] vector) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public int Texts { get; private set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var embeddings = new GeneratedEmbeddings<Embedding<float>>(values.Select(_ => new Embedding<float>((float[])vector.Clone())));
            Texts += embeddings.Count;
            return Task.FromResult(embeddings);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
