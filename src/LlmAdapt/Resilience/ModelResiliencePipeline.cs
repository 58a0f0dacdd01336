using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace LlmAdapt.Resilience;

/// <summary>
/// Builds the Polly pipeline shared by the chat and embedding middleware. Outermost first: total timeout, retry
/// (exponential backoff with jitter, <c>Retry-After</c> honoured), circuit breaker, concurrency limit, attempt timeout.
/// </summary>
internal static class ModelResiliencePipeline
{
    /// <summary>The key under which the caller's token travels in the resilience context.</summary>
    internal static readonly ResiliencePropertyKey<CancellationToken> CallerToken = new("LlmAdapt.CallerToken");

    public static ResiliencePipeline Create(LlmAdaptResilienceOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();

        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        builder.AddTimeout(options.TotalTimeout);

        if (options.MaxRetryAttempts > 0)
        {
            var retry = new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                UseJitter = options.UseJitter,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(options, args.Outcome.Exception, args.Context)),
                DelayGenerator = args =>
                {
                    if (args.Outcome.Exception is { } exception)
                    {
                        var requested = options.RetryAfter?.Invoke(exception) ?? TransientFailures.RetryAfterOf(exception, timeProvider);
                        if (requested is { } delay)
                        {
                            return ValueTask.FromResult<TimeSpan?>(delay < TimeSpan.Zero ? TimeSpan.Zero : delay);
                        }
                    }

                    return ValueTask.FromResult<TimeSpan?>(null);
                },
            };
            if (options.OnRetry is { } onRetry)
            {
                retry.OnRetry = args =>
                {
                    onRetry(new ModelRetry(args.AttemptNumber, args.RetryDelay, args.Outcome.Exception));
                    return ValueTask.CompletedTask;
                };
            }

            if (options.Randomizer is { } randomizer)
            {
                retry.Randomizer = randomizer;
            }

            builder.AddRetry(retry);
        }

        if (options.EnableCircuitBreaker)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(options, args.Outcome.Exception, args.Context)),
            });
        }

        if (options.MaxConcurrency > 0)
        {
            builder.AddConcurrencyLimiter(options.MaxConcurrency, options.ConcurrencyQueueLimit);
        }

        builder.AddTimeout(options.AttemptTimeout);
        return builder.Build();
    }

    private static bool IsTransient(LlmAdaptResilienceOptions options, Exception? exception, ResilienceContext context)
    {
        if (exception is null)
        {
            return false;
        }

        var callerToken = context.Properties.GetValue(CallerToken, CancellationToken.None);
        if (callerToken.IsCancellationRequested)
        {
            return false;
        }

        return TransientFailures.IsTransient(exception, callerToken) || (options.IsTransient?.Invoke(exception) ?? false);
    }

    /// <summary>Runs <paramref name="operation"/> through the pipeline with the caller's token recorded in the context.</summary>
    public static async ValueTask<T> ExecuteAsync<T, TState>(ResiliencePipeline pipeline, Func<TState, CancellationToken, ValueTask<T>> operation, TState state, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(CallerToken, cancellationToken);
        try
        {
            return await pipeline.ExecuteAsync(
                static (ctx, s) => s.Operation(s.State, ctx.CancellationToken),
                context,
                (Operation: operation, State: state)).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller's cancellation is never reported as a timeout.
            throw new OperationCanceledException(cancellationToken);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
