using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Evaluation;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;

namespace LlmAdapt.Tests.Retrieval;

public sealed class CranfieldBm25Tests
{
    [Fact]
    public async Task Bm25_OnCranfield_ReachesThePeersNdcg()
    {
        var dataset = await BeirDataset.LoadAsync(TestData.PathOf("retrieval/cranfield/beir"));
        using var index = new DocumentIndex();
        foreach (var chunk in dataset.ToChunks())
        {
            index.Upsert(chunk);
        }

        var result = await RetrievalEvaluator.EvaluateAsync(new KeywordRetriever(index), dataset, 10);
        Console.WriteLine($"ndcg={result.Ndcg:F4} recall={result.Recall:F4} mrr={result.Mrr:F4} map={result.Map:F4} p={result.Precision:F4} n={result.QueryCount} qps={result.QueriesPerSecond:F0}");
        Assert.Equal(225, result.QueryCount);
        Assert.True(result.Ndcg >= 0.358, $"nDCG@10 {result.Ndcg:F4}");
    }
}
