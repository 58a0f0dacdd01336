using LlmAdapt.Resilience;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.AI;

/// <summary>Adds LlmAdapt's resilience middleware to chat and embedding pipelines.</summary>
public static class ResilienceChatClientBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="ResilientChatClient"/>. Options start from the registered <see cref="LlmAdaptResilienceOptions"/>
    /// (bound from <c>LlmAdapt:Resilience</c>) when there are any, else from the defaults, then <paramref name="configure"/>
    /// is applied; they are validated when the pipeline is built. The clock is the registered <see cref="TimeProvider"/>.
    /// </summary>
    /// <param name="builder">The chat pipeline builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ChatClientBuilder UseLlmAdaptResilience(this ChatClientBuilder builder, Action<LlmAdaptResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new ResilientChatClient(inner, Resolve(services, configure), services.GetService<TimeProvider>()));
    }

    /// <summary>Adds <see cref="ResilientEmbeddingGenerator"/>, with options resolved as for the chat middleware.</summary>
    /// <param name="builder">The embedding pipeline builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> UseLlmAdaptResilience(this EmbeddingGeneratorBuilder<string, Embedding<float>> builder, Action<LlmAdaptResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new ResilientEmbeddingGenerator(inner, Resolve(services, configure), services.GetService<TimeProvider>()));
    }

    private static LlmAdaptResilienceOptions Resolve(IServiceProvider services, Action<LlmAdaptResilienceOptions>? configure)
    {
        var registered = services.GetService<IOptions<LlmAdaptResilienceOptions>>()?.Value;
        var options = registered is null ? new LlmAdaptResilienceOptions() : Copy(registered);
        configure?.Invoke(options);
        return options;
    }

    private static LlmAdaptResilienceOptions Copy(LlmAdaptResilienceOptions o) => new()
    {
        MaxRetryAttempts = o.MaxRetryAttempts,
        BaseDelay = o.BaseDelay,
        MaxDelay = o.MaxDelay,
        UseJitter = o.UseJitter,
        AttemptTimeout = o.AttemptTimeout,
        TotalTimeout = o.TotalTimeout,
        EnableCircuitBreaker = o.EnableCircuitBreaker,
        FailureRatio = o.FailureRatio,
        MinimumThroughput = o.MinimumThroughput,
        SamplingDuration = o.SamplingDuration,
        BreakDuration = o.BreakDuration,
        MaxConcurrency = o.MaxConcurrency,
        ConcurrencyQueueLimit = o.ConcurrencyQueueLimit,
        IsTransient = o.IsTransient,
        RetryAfter = o.RetryAfter,
        Randomizer = o.Randomizer,
        OnRetry = o.OnRetry,
    };
}
