namespace LlmAdapt.Retrieval.Evaluation;

/// <summary>
/// Ranking metrics over one query's ranked document ids and its graded judgments (grade ≤ 0: not relevant).
/// nDCG uses the grade as the gain and log2(rank + 1) as the discount, as trec_eval and BEIR do.
/// </summary>
public static class RetrievalMetrics
{
    /// <summary>Normalised discounted cumulative gain of the first <paramref name="k"/> results.</summary>
    /// <param name="ranked">The ranked document ids, best first.</param>
    /// <param name="judgments">Document id → grade.</param>
    /// <param name="k">The cut-off; at least 1.</param>
    /// <returns>nDCG@k in [0, 1]; 0 when no document is relevant.</returns>
    public static double Ndcg(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        Check(ranked, judgments, k);
        var dcg = 0.0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (judgments.TryGetValue(ranked[i], out var grade) && grade > 0)
            {
                dcg += grade / Math.Log2(i + 2);
            }
        }

        var ideal = judgments.Values.Where(g => g > 0).OrderDescending().Take(k).Select((g, i) => g / Math.Log2(i + 2)).Sum();
        return ideal > 0 ? dcg / ideal : 0;
    }

    /// <summary>The share of relevant documents found in the first <paramref name="k"/> results.</summary>
    /// <param name="ranked">The ranked document ids, best first.</param>
    /// <param name="judgments">Document id → grade.</param>
    /// <param name="k">The cut-off; at least 1.</param>
    /// <returns>Recall@k in [0, 1]; 0 when no document is relevant.</returns>
    public static double Recall(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        Check(ranked, judgments, k);
        var relevant = judgments.Values.Count(g => g > 0);
        return relevant == 0 ? 0 : (double)CountRelevant(ranked, judgments, k) / relevant;
    }

    /// <summary>The share of the first <paramref name="k"/> positions that hold relevant documents.</summary>
    /// <param name="ranked">The ranked document ids, best first.</param>
    /// <param name="judgments">Document id → grade.</param>
    /// <param name="k">The cut-off; at least 1.</param>
    /// <returns>P@k in [0, 1].</returns>
    public static double Precision(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        Check(ranked, judgments, k);
        return (double)CountRelevant(ranked, judgments, k) / k;
    }

    /// <summary>The reciprocal rank of the first relevant document within the first <paramref name="k"/> results.</summary>
    /// <param name="ranked">The ranked document ids, best first.</param>
    /// <param name="judgments">Document id → grade.</param>
    /// <param name="k">The cut-off; at least 1.</param>
    /// <returns>RR@k in [0, 1]; 0 when none of the first k is relevant.</returns>
    public static double ReciprocalRank(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        Check(ranked, judgments, k);
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (IsRelevant(ranked[i], judgments))
            {
                return 1.0 / (i + 1);
            }
        }

        return 0;
    }

    /// <summary>Average precision over the first <paramref name="k"/> results, divided by all relevant documents (MAP@k when averaged over queries).</summary>
    /// <param name="ranked">The ranked document ids, best first.</param>
    /// <param name="judgments">Document id → grade.</param>
    /// <param name="k">The cut-off; at least 1.</param>
    /// <returns>AP@k in [0, 1]; 0 when no document is relevant.</returns>
    public static double AveragePrecision(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        Check(ranked, judgments, k);
        var relevant = judgments.Values.Count(g => g > 0);
        if (relevant == 0)
        {
            return 0;
        }

        var found = 0;
        var sum = 0.0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (IsRelevant(ranked[i], judgments))
            {
                found++;
                sum += (double)found / (i + 1);
            }
        }

        return sum / relevant;
    }

    private static bool IsRelevant(string id, IReadOnlyDictionary<string, int> judgments) => judgments.TryGetValue(id, out var grade) && grade > 0;

    private static int CountRelevant(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        var count = 0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (IsRelevant(ranked[i], judgments))
            {
                count++;
            }
        }

        return count;
    }

    private static void Check(IReadOnlyList<string> ranked, IReadOnlyDictionary<string, int> judgments, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(judgments);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
    }
}
