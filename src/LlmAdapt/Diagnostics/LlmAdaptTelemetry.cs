using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LlmAdapt.Diagnostics;

/// <summary>
/// LlmAdapt's own tracing and metrics, for what the GenAI semantic conventions of Microsoft.Extensions.AI's
/// <c>UseOpenTelemetry()</c> do not cover (retrieval, prompt strategies, context packing, serving, training). A host
/// listens with <c>AddOpenTelemetry().WithTracing(t =&gt; t.AddSource(LlmAdaptTelemetry.SourceName))</c> and
/// <c>.WithMetrics(m =&gt; m.AddMeter(LlmAdaptTelemetry.SourceName))</c>.
/// </summary>
public static class LlmAdaptTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> and of the <see cref="System.Diagnostics.Metrics.Meter"/>: <c>LlmAdapt</c>.</summary>
    public const string SourceName = "LlmAdapt";

    /// <summary>Gets the activity source every LlmAdapt span starts from.</summary>
    public static ActivitySource ActivitySource { get; } = new(SourceName, typeof(LlmAdaptTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Gets the meter every LlmAdapt instrument is created on.</summary>
    public static Meter Meter { get; } = new(SourceName, typeof(LlmAdaptTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Gets or sets whether LlmAdapt's spans may carry user data (retrieval query text). Off unless the environment
    /// variable <c>OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT</c> is <c>true</c>, the switch the GenAI
    /// conventions name; message content on chat spans is Microsoft.Extensions.AI's own <c>EnableSensitiveData</c>.
    /// </summary>
    public static bool EnableSensitiveData { get; set; } =
        string.Equals(Environment.GetEnvironmentVariable("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"), "true", StringComparison.OrdinalIgnoreCase);
}
