using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;

namespace LlmAdapt.Tests.Retrieval;

public sealed class AccessControlTests
{
    private static readonly string[] s_words = ["wing", "flutter", "shock", "boundary", "layer", "heat", "panel", "nozzle", "vortex", "drag", "lift", "stall"];

    [Fact]
    public async Task Retrieve_RandomPrincipalsAndDocuments_NeverLeaksAChunk()
    {
        // Seed 20251126: 2,000 chunks, 40 users in 8 groups, random access lists (some empty, some missing).
        var random = new Random(20251126);
        var groups = Enumerable.Range(0, 8).Select(g => $"group-{g}").ToArray();
        var users = Enumerable.Range(0, 40).Select(u => new Principal($"user-{u}", groups.Where(_ => random.NextDouble() < 0.25))).ToArray();
        var embeddings = new HashingEmbeddingGenerator(32);
        using var index = new DocumentIndex(new DocumentIndexOptions { RequireAccessControl = true });
        var chunks = new List<DocumentChunk>();
        for (var i = 0; i < 2000; i++)
        {
            var text = string.Join(' ', Enumerable.Range(0, 8).Select(_ => s_words[random.Next(s_words.Length)]));
            IReadOnlyList<string>? allowed = random.NextDouble() switch
            {
                < 0.05 => null,
                < 0.10 => [],
                _ => [.. users.Where(_ => random.NextDouble() < 0.05).Select(u => u.Id).Concat(groups.Where(_ => random.NextDouble() < 0.15))],
            };
            var chunk = new DocumentChunk { Id = $"c{i}", DocumentId = $"d{i / 4}", Text = text, AllowedPrincipals = allowed };
            chunks.Add(chunk);
            var vector = (await embeddings.GenerateAsync([text]))[0].Vector;
            index.Upsert(chunk, vector.Span);
        }

        var keyword = new KeywordRetriever(index, new RetrieverOptions { RequireAccessControl = true });
        var dense = new DenseRetriever(index, embeddings, new RetrieverOptions { RequireAccessControl = true });
        var hybrid = new HybridRetriever([keyword, dense], access: new RetrieverOptions { RequireAccessControl = true });
        var returned = 0;
        for (var q = 0; q < 300; q++)
        {
            var user = users[random.Next(users.Length)];
            var query = $"{s_words[random.Next(s_words.Length)]} {s_words[random.Next(s_words.Length)]}";
            var visible = chunks.Where(c => user.CanSee(c.AllowedPrincipals)).Select(c => c.Id).ToHashSet();
            foreach (var retriever in new IRetriever[] { keyword, dense, hybrid })
            {
                var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = query, TopK = 20, Principal = user });
                Assert.All(results, r => Assert.Contains(r.Chunk.Id, visible));
                returned += results.Count;

                // Filtering happens before ranking: a principal who can see at least k matching chunks gets k.
                if (retriever == dense && visible.Count >= 20)
                {
                    Assert.Equal(20, results.Count);
                }
            }
        }

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
