using LlmAdapt.Diagnostics;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>
/// Runs several retrievers (typically keyword and dense) on the same request and fuses their lists by
/// reciprocal rank or weighted normalised scores. Each inner retriever applies the request's filter and principal.
/// </summary>
public sealed class HybridRetriever : IRetriever
{
    private readonly IRetriever[] _retrievers;
    private readonly double[] _weights;
    private readonly HybridOptions _options;
    private readonly RetrieverOptions _access;

    /// <summary>Initializes a hybrid retriever.</summary>
    /// <param name="retrievers">The retrievers to fuse; at least one.</param>
    /// <param name="options">Fusion settings; validated here.</param>
    /// <param name="access">Access rules checked before the inner retrievers run.</param>
    /// <exception cref="ArgumentException">No retriever.</exception>
    /// <exception cref="InvalidOptionsException">The weights do not match the retrievers (count, negative or not finite), or an option is out of range.</exception>
    public HybridRetriever(IReadOnlyList<IRetriever> retrievers, HybridOptions? options = null, RetrieverOptions? access = null)
    {
        ArgumentNullException.ThrowIfNull(retrievers);
        if (retrievers.Count == 0)
        {
            throw new ArgumentException("Give at least one retriever to fuse.", nameof(retrievers));
        }

        _options = options ?? new HybridOptions();
        var weights = _options.Weights ?? Enumerable.Repeat(1.0, retrievers.Count).ToList();
        var problems = OptionsValidator.FindProblems(_options).ToList();
        if (weights.Count != retrievers.Count)
        {
            problems.Add($"Weights: {weights.Count} weights for {retrievers.Count} retrievers");
        }

        if (weights.Any(w => w < 0 || !double.IsFinite(w)))
        {
            problems.Add("Weights: weights must be finite and non-negative");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOptionsException(nameof(HybridOptions), problems);
        }

        _retrievers = [.. retrievers];
        _weights = [.. weights];
        _access = access ?? new RetrieverOptions();
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default)
    {
        var filter = _access.Combine(request);
        var inner = request with { TopK = Math.Max(request.TopK, _options.CandidateCount), Filter = filter };
        return RetrievalTelemetry.TraceAsync("hybrid", "fusion", request, async () =>
        {
            var lists = await Task.WhenAll(_retrievers.Select(r => r.RetrieveAsync(inner, cancellationToken))).ConfigureAwait(false);
            return Fuse(lists, request.TopK);
        });
    }

    internal IReadOnlyList<RetrievedChunk> Fuse(IReadOnlyList<IReadOnlyList<RetrievedChunk>> lists, int topK)
    {
        var fused = new Dictionary<string, (DocumentChunk Chunk, double Score)>(StringComparer.Ordinal);
        for (var l = 0; l < lists.Count; l++)
        {
            var list = lists[l];
            double min = 0, range = 1;
            if (_options.Method == FusionMethod.WeightedScore && list.Count > 0)
            {
                min = list.Min(r => r.Score);
                range = list.Max(r => r.Score) - min;
            }

            for (var i = 0; i < list.Count; i++)
            {
                var item = list[i];
                var contribution = _options.Method == FusionMethod.ReciprocalRank
                    ? _weights[l] / (_options.RrfK + i + 1)
                    : _weights[l] * (range > 0 ? (item.Score - min) / range : 1);
                fused[item.Chunk.Id] = fused.TryGetValue(item.Chunk.Id, out var existing)
                    ? (existing.Chunk, existing.Score + contribution)
                    : (item.Chunk, contribution);
            }
        }

        return [.. fused.Values
            .OrderByDescending(v => v.Score)
            .ThenBy(v => v.Chunk.Id, StringComparer.Ordinal)
            .Take(topK)
            .Select((v, i) => new RetrievedChunk { Chunk = v.Chunk, Score = v.Score, Rank = i + 1 })];
    }
}
