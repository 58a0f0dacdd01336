namespace LlmAdapt.Retrieval.Evaluation;

/// <summary>The mean metrics of a retriever over a test collection's judged queries, and its speed.</summary>
public sealed record RetrievalEvaluation
{
    /// <summary>Gets the cut-off k.</summary>
    public required int K { get; init; }

    /// <summary>Gets how many queries were run.</summary>
    public required int QueryCount { get; init; }

    /// <summary>Gets the mean nDCG@k.</summary>
    public required double Ndcg { get; init; }

    /// <summary>Gets the mean Recall@k.</summary>
    public required double Recall { get; init; }

    /// <summary>Gets the mean reciprocal rank within the first k (MRR@k).</summary>
    public required double Mrr { get; init; }

    /// <summary>Gets the mean average precision within the first k (MAP@k).</summary>
    public required double Map { get; init; }

    /// <summary>Gets the mean precision at k.</summary>
    public required double Precision { get; init; }

    /// <summary>Gets the time spent answering the queries (one at a time).</summary>
    public required TimeSpan QueryTime { get; init; }

    /// <summary>Gets the queries answered per second.</summary>
    public double QueriesPerSecond => QueryTime > TimeSpan.Zero ? QueryCount / QueryTime.TotalSeconds : double.PositiveInfinity;
}
