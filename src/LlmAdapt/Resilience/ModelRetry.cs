namespace LlmAdapt.Resilience;

/// <summary>Describes a retry the resilience middleware is about to make; passed to <see cref="LlmAdaptResilienceOptions.OnRetry"/>.</summary>
/// <param name="AttemptNumber">The attempt that failed, from 0.</param>
/// <param name="Delay">How long the middleware waits before the next attempt (backoff, or the server's <c>Retry-After</c>).</param>
/// <param name="Exception">The transient failure.</param>
public sealed record ModelRetry(int AttemptNumber, TimeSpan Delay, Exception? Exception);
