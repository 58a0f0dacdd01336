using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmAdapt.Diagnostics;

namespace LlmAdapt.Hosting;

/// <summary>The GenAI semantic conventions' server metrics, on the <c>LlmAdapt</c> meter.</summary>
internal static class ServerMetrics
{
    // The conventions' advised bucket boundaries, in seconds.
    private static readonly double[] s_durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] s_tokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];

    private static readonly Histogram<double> s_requestDuration = LlmAdaptTelemetry.Meter.CreateHistogram<double>(
        "gen_ai.server.request.duration", "s", "Time from the request's arrival to its last byte, successful or not.", advice: new() { HistogramBucketBoundaries = s_durationBuckets });

    private static readonly Histogram<double> s_timeToFirstToken = LlmAdaptTelemetry.Meter.CreateHistogram<double>(
        "gen_ai.server.time_to_first_token", "s", "Time from a streamed request's arrival to its first generated text.", advice: new() { HistogramBucketBoundaries = s_durationBuckets });

    private static readonly Histogram<double> s_timePerOutputToken = LlmAdaptTelemetry.Meter.CreateHistogram<double>(
        "gen_ai.server.time_per_output_token", "s", "Mean time per output token after the first, of a successful streamed request.", advice: new() { HistogramBucketBoundaries = s_tokenBuckets });

    public static void RecordRequest(string operation, string? model, TimeSpan duration, string? errorType)
    {
        var tags = Tags(operation, model);
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        s_requestDuration.Record(duration.TotalSeconds, tags);
    }

    public static void RecordStream(string model, TimeSpan firstToken, TimeSpan total, long outputTokens)
    {
        var tags = Tags("chat", model);
        s_timeToFirstToken.Record(firstToken.TotalSeconds, tags);
        if (outputTokens > 1)
        {
            s_timePerOutputToken.Record((total - firstToken).TotalSeconds / (outputTokens - 1), tags);
        }
    }

    private static TagList Tags(string operation, string? model)
    {
        var tags = new TagList { { "gen_ai.operation.name", operation } };
        if (model is not null)
        {
            tags.Add("gen_ai.request.model", model);
        }

        return tags;
    }
}
