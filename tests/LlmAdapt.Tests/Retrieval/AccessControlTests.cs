using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;

namespace LlmAdapt.Tests.Retrieval;

public sealed class AccessControlTests
{
    [Fact]
    public async Task Retrieve_RandomPrincipalsAndDocuments_NeverLeaksAChunk()
    {
        // Seed 20251126: 2,000 chunks, 40 users in 8 groups, random access lists (some empty, some missing).
        var scenario = AccessControlScenario.Create(20251126, 2000, 40);
        var embeddings = new HashingEmbeddingGenerator(32);
        using var index = new DocumentIndex(new DocumentIndexOptions { RequireAccessControl = true });
        await DocumentIndexer.AddAsync(index, scenario.Chunks, embeddings);

        var keyword = new KeywordRetriever(index, new RetrieverOptions { RequireAccessControl = true });
        var dense = new DenseRetriever(index, embeddings, new RetrieverOptions { RequireAccessControl = true });
        var hybrid = new HybridRetriever([keyword, dense], access: new RetrieverOptions { RequireAccessControl = true });
        var returned = await scenario.CheckAsync(keyword, dense, hybrid, queries: 300);
        Assert.True(returned > 10_000, $"only {returned} results: the test would not catch a leak");
    }

    [Fact]
    public async Task Retrieve_WithoutPrincipal_IsRefusedWhenAccessControlIsOn()
    {
        using var index = new DocumentIndex();
        index.Upsert(new DocumentChunk { Id = "a", DocumentId = "a", Text = "wing flutter", AllowedPrincipals = ["alice"] });
        var retriever = new KeywordRetriever(index, new RetrieverOptions { RequireAccessControl = true });
        await Assert.ThrowsAsync<AccessDeniedException>(() => retriever.RetrieveAsync(new RetrievalRequest { Query = "wing" }));

        using var guarded = new DocumentIndex(new DocumentIndexOptions { RequireAccessControl = true });
        Assert.Throws<AccessDeniedException>(() => guarded.SearchKeyword("wing", 5));
        var dense = new DenseRetriever(guarded, new HashingEmbeddingGenerator());
        await Assert.ThrowsAsync<AccessDeniedException>(() => dense.RetrieveAsync(new RetrievalRequest { Query = "wing" }));
    }

    [Fact]
    public async Task Retrieve_MandatoryTenantFilter_CannotBeWidened()
    {
        using var index = new DocumentIndex();
        index.Upsert(new DocumentChunk { Id = "a", DocumentId = "a", Text = "wing", Metadata = new Dictionary<string, string> { ["tenant"] = "acme" } });
        index.Upsert(new DocumentChunk { Id = "b", DocumentId = "b", Text = "wing", Metadata = new Dictionary<string, string> { ["tenant"] = "globex" } });
        var retriever = new KeywordRetriever(index, new RetrieverOptions { MandatoryFilter = RetrievalFilter.Equal("tenant", "acme") });
        var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = "wing", Filter = RetrievalFilter.In("tenant", "acme", "globex") });
        Assert.Equal("a", Assert.Single(results).Chunk.Id);
    }
}
