using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Resilience;

/// <summary>
/// How model calls are retried, timed out, broken and limited. Bound from <c>LlmAdapt:Resilience</c> when registered
/// through DI; validated when the resilient client is built (<c>Build()</c> of the client builder), with one exception that lists every problem.
/// </summary>
public sealed class LlmAdaptResilienceOptions : IValidatableObject
{
    /// <summary>The configuration section under <c>LlmAdapt</c>.</summary>
    public const string SectionName = "Resilience";

    /// <summary>Gets or sets how many times a transient failure is retried; 0 to 20. Default: 3.</summary>
    [Range(0, 20)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Gets or sets the first retry's delay, doubled on each retry; 0 to 5 minutes. Default: 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest backoff delay (a server's <c>Retry-After</c> may ask for more, up to the total timeout); 0 to 10 minutes. Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets whether backoff delays are jittered so that many clients do not retry in step. Default: <see langword="true"/>.</summary>
    public bool UseJitter { get; set; } = true;

    /// <summary>Gets or sets the limit on one attempt; a slower attempt is cancelled and counted as transient; 10 ms to 1 hour. Default: 100 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Gets or sets the limit on a whole call, retries and delays included; 10 ms to 24 hours. Default: 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets whether a circuit breaker stops calls to a failing model for <see cref="BreakDuration"/>. Default: <see langword="true"/>.</summary>
    public bool EnableCircuitBreaker { get; set; } = true;

    /// <summary>Gets or sets the share of failed calls within <see cref="SamplingDuration"/> that opens the circuit; 0.01 to 1. Default: 0.5.</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Gets or sets the fewest calls in a sampling window before the circuit may open; 2 to 10,000. Default: 10.</summary>
    [Range(2, 10_000)]
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>Gets or sets the window over which failures are counted; 0.5 seconds to 1 hour. Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long the circuit stays open before one trial call (half-open); 0.5 seconds to 1 hour. Default: 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the most calls in flight at once; 0 for no limit, up to 10,000. Default: 0.</summary>
    [Range(0, 10_000)]
    public int MaxConcurrency { get; set; }

    /// <summary>Gets or sets how many calls may wait for a slot when <see cref="MaxConcurrency"/> is reached; 0 to 100,000. Default: 1,000.</summary>
    [Range(0, 100_000)]
    public int ConcurrencyQueueLimit { get; set; } = 1000;

    /// <summary>
    /// Gets or sets an extra rule for transient failures, consulted after the built-in one (HTTP 408/429/5xx,
    /// network errors, timeouts). Return <see langword="true"/> to retry. Not bound from configuration.
    /// </summary>
    public Func<Exception, bool>? IsTransient { get; set; }

    /// <summary>
    /// Gets or sets how to read a server's requested delay from a failure, consulted before the built-in rule
    /// (<see cref="TransientModelException.RetryAfter"/>, or a <c>Retry-After</c> entry in <see cref="Exception.Data"/>). Not bound from configuration.
    /// </summary>
    public Func<Exception, TimeSpan?>? RetryAfter { get; set; }

    /// <summary>Gets or sets a callback told of every retry before its delay starts (for logs and metrics). Not bound from configuration.</summary>
    public Action<ModelRetry>? OnRetry { get; set; }

    /// <summary>Gets or sets the random source for jitter, in [0, 1); tests inject a fixed one. Not bound from configuration.</summary>
    public Func<double>? Randomizer { get; set; }

    /// <summary>Checks every option and throws one exception that lists every problem, naming the option and its allowed range.</summary>
    /// <exception cref="InvalidOptionsException">One or more options are out of range.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this, $"{LlmAdapt.DependencyInjection.LlmAdaptOptions.SectionName}:{SectionName}");

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (MaxDelay < BaseDelay)
        {
            yield return new ValidationResult($"MaxDelay ({MaxDelay}) must be at least BaseDelay ({BaseDelay}).", [nameof(MaxDelay)]);
        }

        if (AttemptTimeout > TotalTimeout)
        {
            yield return new ValidationResult($"AttemptTimeout ({AttemptTimeout}) must not exceed TotalTimeout ({TotalTimeout}).", [nameof(AttemptTimeout)]);
        }
    }
}
