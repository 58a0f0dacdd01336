using System.Diagnostics;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlmAdapt.Retrieval.Evaluation;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;

namespace LlmAdapt.Benchmarks.Retrieval;

/// <summary>
/// `compare retrieval`: Cranfield nDCG@10 of LlmAdapt's BM25 and Lucene.Net's from one run; BM25 query throughput
/// against Lucene.Net (BenchmarkDotNet); exact top-10 against one read of the vectors (BenchmarkDotNet); HNSW
/// recall@10 and speed-up over exact search on cached MiniLM embeddings of SST-2 sentences.
/// </summary>
internal static class RetrievalComparison
{
    public static async Task<int> RunAsync(string[] args)
    {
        var dataset = await BeirDataset.LoadAsync(TestData.PathOf("retrieval/cranfield/beir")).ConfigureAwait(false);
        await PrintNdcgAsync(dataset).ConfigureAwait(false);

        // In process: building a separate benchmark project times out on a busy shared machine, and both sides of
        // each comparison run in this same process anyway.
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("short-inprocess"))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var bm25 = BenchmarkRunner.Run<Bm25SearchBenchmarks>(config, args);
        var flat = BenchmarkRunner.Run<FlatVectorBenchmarks>(config, args);
        var bm25Ratio = Mean(bm25, nameof(Bm25SearchBenchmarks.Lucene_Bm25)) / Mean(bm25, nameof(Bm25SearchBenchmarks.LlmAdapt_Bm25));
        var flatRatio = Mean(flat, nameof(FlatVectorBenchmarks.FlatTop10)) / Mean(flat, nameof(FlatVectorBenchmarks.ReadOnce));

        var (recall, speedup) = await HnswComparison.RunAsync().ConfigureAwait(false);
        Console.WriteLine(FormattableString.Invariant($"bm25_qps_ratio_vs_lucene={bm25Ratio:F2} flat_vs_read_ratio={flatRatio:F2} hnsw_recall10={recall:F3} hnsw_speedup={speedup:F1}"));
        return 0;
    }

    private static async Task PrintNdcgAsync(BeirDataset dataset)
    {
        using var index = new DocumentIndex();
        foreach (var chunk in dataset.ToChunks())
        {
            index.Upsert(chunk);
        }

        var ours = await RetrievalEvaluator.EvaluateAsync(new KeywordRetriever(index), dataset, 10).ConfigureAwait(false);
        using var lucene = new LuceneBm25(dataset);
        var ndcg = 0.0;
        var watch = Stopwatch.StartNew();
        foreach (var id in dataset.JudgedQueryIds)
        {
            ndcg += RetrievalMetrics.Ndcg(lucene.Search(dataset.Queries[id], 10), dataset.Judgments[id], 10);
        }

        watch.Stop();
        var n = dataset.JudgedQueryIds.Count;
        Console.WriteLine(FormattableString.Invariant($"cranfield ndcg@10: llmadapt_bm25={ours.Ndcg:F4} lucene_bm25={ndcg / n:F4} (queries={n})"));
    }

    private static double Mean(Summary summary, string method) =>
        summary.Reports.Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method).Select(r => r.ResultStatistics?.Mean ?? double.NaN).FirstOrDefault(double.NaN);
}
