using System.Diagnostics;

namespace LlmAdapt.Retrieval.Evaluation;

/// <summary>Runs a retriever over a <see cref="BeirDataset"/>'s judged queries and averages the metrics.</summary>
public static class RetrievalEvaluator
{
    /// <summary>Evaluates <paramref name="retriever"/>. Results are mapped to document ids, keeping each document's best chunk.</summary>
    /// <param name="retriever">The retriever.</param>
    /// <param name="dataset">The test collection.</param>
    /// <param name="k">The cut-off; at least 1.</param>
    /// <param name="queryIds">The queries to run, or <see langword="null"/> for every judged query.</param>
    /// <param name="progress">Receives the number of queries done.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>The mean metrics.</returns>
    public static async Task<RetrievalEvaluation> EvaluateAsync(
        IRetriever retriever,
        BeirDataset dataset,
        int k = 10,
        IReadOnlyList<string>? queryIds = null,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retriever);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        queryIds ??= dataset.JudgedQueryIds;
        if (queryIds.Count == 0)
        {
            throw new ArgumentException($"{dataset.Directory}: no query has both text and judgments.", nameof(queryIds));
        }

        double ndcg = 0, recall = 0, mrr = 0, map = 0, precision = 0;
        var watch = new Stopwatch();
        var done = 0;
        foreach (var id in queryIds)
        {
            if (!dataset.Queries.TryGetValue(id, out var text) || !dataset.Judgments.TryGetValue(id, out var judgments))
            {
                throw new ArgumentException($"Query '{id}' has no text or no judgments in {dataset.Directory}.", nameof(queryIds));
            }

            watch.Start();
            var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = text, TopK = k }, cancellationToken).ConfigureAwait(false);
            watch.Stop();
            var ranked = results.Select(r => r.Chunk.DocumentId).Distinct(StringComparer.Ordinal).Take(k).ToList();
            ndcg += RetrievalMetrics.Ndcg(ranked, judgments, k);
            recall += RetrievalMetrics.Recall(ranked, judgments, k);
            mrr += RetrievalMetrics.ReciprocalRank(ranked, judgments, k);
            map += RetrievalMetrics.AveragePrecision(ranked, judgments, k);
            precision += RetrievalMetrics.Precision(ranked, judgments, k);
            progress?.Report(++done);
        }

        var n = queryIds.Count;
        return new RetrievalEvaluation
        {
            K = k,
            QueryCount = n,
            Ndcg = ndcg / n,
            Recall = recall / n,
            Mrr = mrr / n,
            Map = map / n,
            Precision = precision / n,
            QueryTime = watch.Elapsed,
        };
    }
}
