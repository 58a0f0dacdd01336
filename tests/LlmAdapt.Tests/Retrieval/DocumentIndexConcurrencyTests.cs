using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Tests.Retrieval;

public sealed class DocumentIndexConcurrencyTests
{
    [Theory]
    [InlineData(VectorIndexKind.Flat)]
    [InlineData(VectorIndexKind.Hnsw)]
    public async Task Search_WhileChunksAreAddedUpdatedAndDeleted_AlwaysSeesTheStableChunks(VectorIndexKind kind)
    {
        var vectors = VectorIndexTests.ClusteredVectors(600, 16, seed: 9);
        using var index = new DocumentIndex(new DocumentIndexOptions { VectorIndex = kind, Hnsw = new HnswOptions { EfConstruction = 40 } });
        for (var i = 0; i < 200; i++)
        {
            index.Upsert(new DocumentChunk { Id = $"s{i}", DocumentId = "stable", Text = $"stable wing {i}" }, vectors[i]);
        }

        var writer = Task.Run(() =>
        {
            for (var round = 0; round < 400; round++)
            {
                var id = $"c{round % 40}";
                index.Upsert(new DocumentChunk { Id = id, DocumentId = "churn", Text = $"churn nozzle {round}" }, vectors[200 + (round % 400)]);
                if (round % 4 == 0)
                {
                    index.Remove(id);
                }
            }
        });

        var searches = 0;
        while (!writer.IsCompleted || searches == 0)
        {
            Assert.Equal(10, index.SearchKeyword("stable wing", 10).Count);
            var filtered = index.SearchVector(vectors[0], 5, RetrievalFilter.Equal("kind", "none"));
            Assert.Empty(filtered);
            Assert.Equal(5, index.SearchVector(vectors[1], 5).Count);
            searches++;
        }

        await writer;
        // Each churn id's last write is round 360 + j, a removal where j % 4 == 0: 30 of the 40 remain.
        Assert.Equal(230, index.Count);
        Assert.Equal(
            Enumerable.Range(0, 40).Where(j => j % 4 != 0).Select(j => $"c{j}").Order(),
            index.GetChunks().Where(c => c.DocumentId == "churn").Select(c => c.Id).Order());
    }
}
