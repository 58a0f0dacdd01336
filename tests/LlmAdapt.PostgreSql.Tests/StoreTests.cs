using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Evaluation;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;
using LlmAdapt.Tests;
using LlmAdapt.Tests.Retrieval;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.PostgreSql.Tests;

[Collection(PgliteCollection.Name)]
public sealed class StoreTests(PgliteFixture fixture)
{
    internal static async Task<IReadOnlyList<DocumentChunk>> CranfieldSampleAsync(int documents)
    {
        // The first documents of the Cranfield BEIR corpus (../shared/data/retrieval/cranfield/beir), in file order.
        var dataset = await BeirDataset.LoadAsync(TestData.PathOf("retrieval/cranfield/beir"));
        var keep = dataset.Corpus.Take(documents).Select(d => d.Id).ToHashSet();
        return [.. dataset.ToChunks().Where(c => keep.Contains(c.DocumentId))];
    }

    private PostgresRetrievalOptions Options(string prefix, Action<PostgresRetrievalOptions>? change = null)
    {
        var options = new PostgresRetrievalOptions { Table = fixture.NewTable(prefix), RetryDelay = TimeSpan.Zero };
        change?.Invoke(options);
        return options;
    }

    [Fact]
    public async Task Ingest_CranfieldSample_SearchesLikeTheInProcessIndex()
    {
        var chunks = await CranfieldSampleAsync(150);
        var generator = new HashingEmbeddingGenerator(64);
        await using var store = await PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, Options("roundtrip", o => o.BatchSize = 40), generator);
        var reported = new List<int>();
        await store.AddAsync(chunks, generator, new Progress<int>(reported.Add));
        Assert.Equal(chunks.Count, await store.CountAsync());
        Assert.Equal(64, store.Dimensions);

        using var index = new DocumentIndex();
        await DocumentIndexer.AddAsync(index, chunks, generator);

        // Exact dense search in SQL agrees with the in-process flat index (same ids, same cosine scores).
        await using var exact = await PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, new PostgresRetrievalOptions { Table = store.Options.Table, ExactSearch = true }, generator);
        foreach (var chunk in chunks.Take(12))
        {
            var query = (await generator.GenerateAsync([chunk.Text]))[0].Vector;
            var expected = index.SearchVector(query.Span, 5);
            var actual = await exact.SearchVectorAsync(query, 5);
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < actual.Count; i++)
            {
                // The same chunk at each rank, or one the in-process index scores the same (a tie may order either way).
                Assert.Equal(expected[i].Score, actual[i].Score, 4);
                Assert.Contains(actual[i].Chunk.Id, expected.Where(e => Math.Abs(e.Score - actual[i].Score) < 1e-4).Select(e => e.Chunk.Id));
            }
            Assert.Equal("pgvector-exact", actual[0].Chunk.Metadata[PostgresDocumentStore.SearchMethodKey]);
        }

        // A chunk comes back whole: text, offsets, title, source, metadata, citation.
        var target = chunks[17];
        var found = (await store.SearchKeywordAsync(target.Title + " " + target.Text, 3))[0];
        Assert.Equal(target.Id, found.Chunk.Id);
        Assert.Equal(target.Text, found.Chunk.Text);
        Assert.Equal(target.Title, found.Chunk.Title);
        Assert.Equal((target.StartOffset, target.EndOffset, target.Index), (found.Chunk.StartOffset, found.Chunk.EndOffset, found.Chunk.Index));
        Assert.Equal("postgres-fulltext", found.Chunk.Metadata[PostgresDocumentStore.SearchMethodKey]);
        Assert.Equal(Citation.For(target), found.Citation);
        Assert.Empty(await store.SearchKeywordAsync("the and of", 5));

        // Upsert by chunk id replaces; re-adding a document with fewer chunks drops the rest; delete by document.
        var document = chunks[0].DocumentId;
        var replaced = chunks[0] with { Text = "zeppelin zeppelin airship" };
        await store.AddAsync([replaced], generator);
        Assert.Equal(1, (await store.CountChunksByDocumentAsync())[document]);
        Assert.Equal(replaced.Id, (await store.SearchKeywordAsync("zeppelin", 1))[0].Chunk.Id);
        Assert.Equal(1, await store.DeleteDocumentAsync(document));
        Assert.Empty(await store.SearchKeywordAsync("zeppelin", 1));
        Assert.Equal(chunks.Count(c => c.DocumentId != document), await store.CountAsync());
        Assert.Equal(reported[^1], chunks.Count);
    }

    [Fact]
    public async Task MiniLm_ExactDenseInPostgres_MatchesTheInProcessIndex()
    {
        // The real model (all-MiniLM-L6-v2 through ONNX Runtime) on Cranfield's first 40 documents and first 8
        // queries; the store embeds the chunks itself, the in-process index gets the same model's vectors.
        using var model = LlmAdapt.Onnx.Embeddings.OnnxEmbeddingGenerator.CreateDefault();
        var chunks = await CranfieldSampleAsync(40);
        await using var store = await PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, Options("minilm", o => o.ExactSearch = true), model);
        Assert.Equal(384, store.Dimensions);
        await store.AddAsync(chunks, model);
        using var index = new DocumentIndex();
        var vectors = await model.GenerateAsync(chunks.Select(DocumentIndexer.TextForEmbedding));
        for (var i = 0; i < chunks.Count; i++)
        {
            index.Upsert(chunks[i], vectors[i].Vector.Span);
        }

        var dataset = await BeirDataset.LoadAsync(TestData.PathOf("retrieval/cranfield/beir"));
        var inProcess = new DenseRetriever(index, model);
        var postgres = new PostgresDenseRetriever(store, model);
        foreach (var query in dataset.JudgedQueryIds.Take(8).Select(id => dataset.Queries[id]))
        {
            var expected = await inProcess.RetrieveAsync(new RetrievalRequest { Query = query, TopK = 5 });
            var actual = await postgres.RetrieveAsync(new RetrievalRequest { Query = query, TopK = 5 });
            Assert.Equal(expected.Select(r => r.Chunk.Id), actual.Select(r => r.Chunk.Id));
            Assert.All(expected.Zip(actual), pair => Assert.Equal(pair.First.Score, pair.Second.Score, 4));
        }

        var hybrid = PostgresRetrievalServiceCollectionExtensions.CreateRetriever(store, "hybrid", model);
        Assert.Equal(5, (await hybrid.RetrieveAsync(new RetrievalRequest { Query = dataset.Queries[dataset.JudgedQueryIds[0]], TopK = 5 })).Count);
    }

    [Fact]
    public async Task Search_FilterKeepingOnePercent_StillReturnsK()
    {
        // 2,000 chunks; "bucket" = i % 100 keeps 20 (1%) per bucket; HNSW with a small ef_search.
        var random = new Random(1601);
        var generator = new HashingEmbeddingGenerator(32);
        var chunks = Enumerable.Range(0, 2000).Select(i => new DocumentChunk
        {
            Id = $"c{i}",
            DocumentId = $"d{i}",
            Text = string.Join(' ', Enumerable.Range(0, 6).Select(_ => AccessControlScenario.Words[random.Next(AccessControlScenario.Words.Length)])),
            Metadata = new Dictionary<string, string> { ["bucket"] = (i % 100).ToString(System.Globalization.CultureInfo.InvariantCulture), ["tenant"] = i % 2 == 0 ? "a" : "b" },
        }).ToList();
        await using var store = await PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, Options("filter", o => { o.HnswEfSearch = 10; o.BatchSize = 500; }), generator);
        await store.AddAsync(chunks, generator);
        var dense = new PostgresDenseRetriever(store, generator);
        var keyword = new PostgresKeywordRetriever(store);
        foreach (var bucket in new[] { "7", "42", "99" })
        {
            var filter = RetrievalFilter.Equal("bucket", bucket);
            var results = await dense.RetrieveAsync(new RetrievalRequest { Query = "wing flutter", TopK = 10, Filter = filter });
            Assert.Equal(10, results.Count);
            Assert.All(results, r => Assert.Equal(bucket, r.Chunk.Metadata["bucket"]));
            Assert.Contains(results[0].Chunk.Metadata[PostgresDocumentStore.SearchMethodKey], new[] { "pgvector-hnsw", "pgvector-exact" });

            var inSet = await keyword.RetrieveAsync(new RetrievalRequest { Query = string.Join(' ', AccessControlScenario.Words), TopK = 50, Filter = RetrievalFilter.In("bucket", bucket, "3") });
            Assert.Equal(40, inSet.Count);
        }

        // A mandatory tenant filter cannot be widened by the caller's filter: both hold.
        var tenantA = new PostgresDenseRetriever(store, generator, new RetrieverOptions { MandatoryFilter = RetrievalFilter.Equal("tenant", "a") });
        var narrowed = await tenantA.RetrieveAsync(new RetrievalRequest { Query = "shock", TopK = 30, Filter = RetrievalFilter.In("tenant", "a", "b") });
        Assert.Equal(30, narrowed.Count);
        Assert.All(narrowed, r => Assert.Equal("a", r.Chunk.Metadata["tenant"]));
    }

    [Fact]
    public async Task Retrieve_RandomPrincipalsAndDocuments_NeverLeaksAChunk()
    {
        // Seed 20251126 as the in-process test: 600 chunks, 30 users in 8 groups, random access lists (some empty, some missing).
        var scenario = AccessControlScenario.Create(20251126, 600, 30);
        var generator = new HashingEmbeddingGenerator(32);
        await using var store = await PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, Options("acl", o => o.RequireAccessControl = true), generator);
        await store.AddAsync(scenario.Chunks, generator);
        var access = new RetrieverOptions { RequireAccessControl = true };
        var keyword = new PostgresKeywordRetriever(store, access);
        var dense = new PostgresDenseRetriever(store, generator, access);
        var hybrid = new HybridRetriever([keyword, dense], access: access);
        var returned = await scenario.CheckAsync(keyword, dense, hybrid, queries: 40);
        Assert.True(returned > 1_000, $"only {returned} results: the test would not catch a leak");
        foreach (var retriever in new IRetriever[] { keyword, dense, hybrid })
        {
            await Assert.ThrowsAsync<AccessDeniedException>(() => retriever.RetrieveAsync(new RetrievalRequest { Query = "wing" }));
        }

        // The store itself refuses too, whatever retriever calls it.
        await Assert.ThrowsAsync<AccessDeniedException>(() => store.SearchKeywordAsync("wing", 5));
        await Assert.ThrowsAsync<AccessDeniedException>(() => new PostgresDenseRetriever(store, generator).RetrieveAsync(new RetrievalRequest { Query = "wing" }));
    }

    [Fact]
    public async Task SearchesDuringIngestAndDelete_SeeEachDocumentWholeOrAbsent()
    {
        // 120 documents of 5 chunks, written in batches of 2 documents while 4 readers search and count.
        var generator = new HashingEmbeddingGenerator(16);
        var chunks = Enumerable.Range(0, 120).SelectMany(d => Enumerable.Range(0, 5).Select(c => new DocumentChunk
        {
            Id = $"d{d}#{c}",
            DocumentId = $"d{d}",
            Index = c,
            Text = $"wing flutter part {c} of document {d}",
            Metadata = new Dictionary<string, string> { ["doc"] = $"d{d}" },
        })).ToList();
        await using var store = await PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, Options("concurrent", o => o.BatchSize = 10), generator);
        var done = 0;
        var observations = 0;
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
        {
            var random = new Random(r);
            while (Volatile.Read(ref done) == 0)
            {
                foreach (var (document, count) in await store.CountChunksByDocumentAsync())
                {
                    Assert.Equal(5, count);
                }

                var doc = $"d{random.Next(120)}";
                var hits = await store.SearchKeywordAsync("wing flutter", 10, RetrievalFilter.Equal("doc", doc));
                Assert.Contains(hits.Count, new[] { 0, 5 });
                var near = await store.SearchVectorAsync((await generator.GenerateAsync(["wing"]))[0].Vector, 10, RetrievalFilter.Equal("doc", doc));
                Assert.Contains(near.Count, new[] { 0, 5 });
                Interlocked.Increment(ref observations);
            }
        })).ToList();

        await store.AddAsync(chunks, generator);
        for (var d = 0; d < 120; d += 3)
        {
            Assert.Equal(5, await store.DeleteDocumentAsync($"d{d}"));
        }

        Volatile.Write(ref done, 1);
        await Task.WhenAll(readers);
        Assert.True(observations >= 4, $"{observations} observations");
        Assert.Equal(80 * 5, await store.CountAsync());
    }
}
