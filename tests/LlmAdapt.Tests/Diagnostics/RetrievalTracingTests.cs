using System.Diagnostics;
using LlmAdapt.Diagnostics;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;
using LlmAdapt.Tests.Retrieval;

namespace LlmAdapt.Tests.Diagnostics;

public sealed class RetrievalTracingTests
{
    [Fact]
    public async Task HybridRetrieval_SpansCountHitsAndFilteredOut_WithoutTheQuery()
    {
        // Five chunks about wings: alice may see two, bob three.
        using var index = new DocumentIndex();
        var embeddings = new HashingEmbeddingGenerator(32);
        List<DocumentChunk> chunks = [.. Enumerable.Range(0, 5).Select(i => new DocumentChunk { Id = $"c{i}", DocumentId = $"d{i}", Text = $"wing flutter number {i}", AllowedPrincipals = [i < 2 ? "alice" : "bob"] })];
        await DocumentIndexer.AddAsync(index, chunks, embeddings);
        var hybrid = new HybridRetriever([new KeywordRetriever(index), new DenseRetriever(index, embeddings)]);
        using var source = new ActivitySource("LlmAdapt.Tests.RetrievalTracing");
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is LlmAdaptTelemetry.SourceName or "LlmAdapt.Tests.RetrievalTracing",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        IReadOnlyList<RetrievedChunk> hits;
        ActivityTraceId trace;
        using (var root = source.StartActivity("test")!)
        {
            trace = root.TraceId;
            hits = await hybrid.RetrieveAsync(new RetrievalRequest { Query = "wing flutter", TopK = 4, Principal = new Principal("alice") });
        }

        List<Activity> mine;
        lock (spans)
        {
            mine = [.. spans.Where(s => s.TraceId == trace)];
        }

        var fusion = Assert.Single(mine, s => s.DisplayName == "retrieval fusion");
        var inner = mine.Where(s => s.DisplayName == "retrieval DocumentIndex").ToList();
        Assert.Equal(2, hits.Count);
        Assert.Equal(2, fusion.GetTagItem("llmadapt.retrieval.hits"));
        Assert.Equal(4, fusion.GetTagItem("llmadapt.retrieval.top_k"));
        Assert.Equal(["dense", "keyword"], inner.Select(s => (string)s.GetTagItem("llmadapt.retrieval.retriever")!).Order());
        Assert.All(inner, s => Assert.Equal(fusion.SpanId, s.ParentSpanId));
        Assert.All(inner, s => Assert.Equal(2, s.GetTagItem("llmadapt.retrieval.hits")));
        Assert.All(inner, s => Assert.Equal(3, s.GetTagItem("llmadapt.retrieval.filtered_out")));
        Assert.All(mine, s => Assert.Null(s.GetTagItem("llmadapt.retrieval.query")));
    }
}
