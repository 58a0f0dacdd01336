using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmAdapt.Diagnostics;

namespace LlmAdapt.Training.Internal;

/// <summary>Training runs on the <c>LlmAdapt</c> meter: loss, throughput and step time, tagged with the kind of run.</summary>
internal static class TrainingMetrics
{
    /// <summary>The tag naming the kind of run: <c>decoder</c> (pre-training, instruction tuning, LoRA) or <c>head</c> (heads, reward models).</summary>
    public const string KindTag = "llmadapt.training.kind";

    private static readonly Histogram<double> s_loss = LlmAdaptTelemetry.Meter.CreateHistogram<double>(
        "llmadapt.training.loss", "{nat}", "Training loss (mean cross-entropy) of each step or epoch.");

    private static readonly Histogram<double> s_throughput = LlmAdaptTelemetry.Meter.CreateHistogram<double>(
        "llmadapt.training.throughput", "{item}/s", "Tokens per second (decoders) or examples per second (heads) of each step or epoch.");

    private static readonly Histogram<double> s_stepDuration = LlmAdaptTelemetry.Meter.CreateHistogram<double>(
        "llmadapt.training.step.duration", "s", "Wall time of each optimizer step (decoders) or epoch (heads).");

    public static void Record(string kind, double loss, double itemsPerSecond, TimeSpan stepTime)
    {
        var tags = new TagList { { KindTag, kind } };
        s_loss.Record(loss, tags);
        s_throughput.Record(itemsPerSecond, tags);
        s_stepDuration.Record(stepTime.TotalSeconds, tags);
    }
}
