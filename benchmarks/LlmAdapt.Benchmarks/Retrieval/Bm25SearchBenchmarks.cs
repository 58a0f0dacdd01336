using BenchmarkDotNet.Attributes;
using LlmAdapt.Retrieval.Evaluation;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Benchmarks.Retrieval;

/// <summary>All 225 Cranfield queries, one at a time, top 10: LlmAdapt's BM25 against Lucene.Net's, same process.</summary>
[MemoryDiagnoser]
public class Bm25SearchBenchmarks
{
    private DocumentIndex _index = null!;
    private LuceneBm25 _lucene = null!;
    private string[] _queries = [];

    [GlobalSetup]
    public void Setup()
    {
        var dataset = BeirDataset.LoadAsync(TestData.PathOf("retrieval/cranfield/beir")).GetAwaiter().GetResult();
        _index = new DocumentIndex();
        foreach (var chunk in dataset.ToChunks())
        {
            _index.Upsert(chunk);
        }

        _lucene = new LuceneBm25(dataset);
        _queries = [.. dataset.JudgedQueryIds.Select(id => dataset.Queries[id])];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _index.Dispose();
        _lucene.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int Lucene_Bm25()
    {
        var n = 0;
        foreach (var query in _queries)
        {
            n += _lucene.Search(query, 10).Length;
        }

        return n;
    }

    [Benchmark]
    public int LlmAdapt_Bm25()
    {
        var n = 0;
        foreach (var query in _queries)
        {
            n += _index.SearchKeyword(query, 10).Count;
        }

        return n;
    }
}
