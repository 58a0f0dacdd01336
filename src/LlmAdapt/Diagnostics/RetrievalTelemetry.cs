using System.Diagnostics;
using LlmAdapt.Retrieval;

namespace LlmAdapt.Diagnostics;

/// <summary>
/// The <c>retrieval {data source}</c> spans: retriever kind, k, hits and how many candidates the access filter turned
/// away; the query text only when <see cref="LlmAdaptTelemetry.EnableSensitiveData"/> is on.
/// </summary>
internal static class RetrievalTelemetry
{
    public const string RetrieverTag = "llmadapt.retrieval.retriever";
    public const string TopKTag = "llmadapt.retrieval.top_k";
    public const string HitsTag = "llmadapt.retrieval.hits";
    public const string FilteredOutTag = "llmadapt.retrieval.filtered_out";
    public const string QueryTag = "llmadapt.retrieval.query";

    /// <summary>Runs <paramref name="search"/> inside a retrieval span that records its hits, or its failure.</summary>
    public static async Task<IReadOnlyList<RetrievedChunk>> TraceAsync(string retriever, string dataSource, RetrievalRequest request, Func<Task<IReadOnlyList<RetrievedChunk>>> search)
    {
        using var activity = Start(retriever, dataSource, request);
        try
        {
            var hits = await search().ConfigureAwait(false);
            activity?.SetTag(HitsTag, hits.Count);
            return hits;
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            activity?.SetTag("error.type", ex.GetType().FullName);
            throw;
        }
    }

    /// <summary>Starts a span for one retrieval, or returns <see langword="null"/> when nobody listens.</summary>
    private static Activity? Start(string retriever, string dataSource, RetrievalRequest request)
    {
        var activity = LlmAdaptTelemetry.ActivitySource.StartActivity($"retrieval {dataSource}", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", "retrieval");
            activity.SetTag("gen_ai.data_source.id", dataSource);
            activity.SetTag(RetrieverTag, retriever);
            activity.SetTag(TopKTag, request.TopK);
            if (LlmAdaptTelemetry.EnableSensitiveData)
            {
                activity.SetTag(QueryTag, request.Query);
            }
        }

        return activity;
    }

    /// <summary>
    /// Wraps an access gate so the candidates it turns away are counted onto the current retrieval span; the gate
    /// itself when no span listens (the count costs nothing then).
    /// </summary>
    public static Func<int, bool>? CountRejections(Func<int, bool>? gate, out FilteredOutCounter? counter)
    {
        counter = null;
        if (gate is null || Activity.Current is not { IsAllDataRequested: true } current || current.Source != LlmAdaptTelemetry.ActivitySource)
        {
            return gate;
        }

        var box = counter = new FilteredOutCounter(current);
        return slot =>
        {
            var allowed = gate(slot);
            if (!allowed)
            {
                Interlocked.Increment(ref box.Count);
            }

            return allowed;
        };
    }

    /// <summary>Counts candidates an access filter turned away during one search.</summary>
    internal sealed class FilteredOutCounter(Activity activity)
    {
        public int Count;

        /// <summary>Adds the count to the span (a hybrid search runs several searches under one span each).</summary>
        public void Record() => activity.SetTag(FilteredOutTag, (activity.GetTagItem(FilteredOutTag) as int? ?? 0) + Volatile.Read(ref Count));
    }
}
