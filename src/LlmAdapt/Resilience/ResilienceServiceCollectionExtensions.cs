using LlmAdapt.DependencyInjection;
using LlmAdapt.Resilience;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the resilience options that <c>UseLlmAdaptResilience()</c> picks up.</summary>
public static class ResilienceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LlmAdaptResilienceOptions"/>, bound from <c>LlmAdapt:Resilience</c> when the builder has
    /// configuration, then changed by <paramref name="configure"/>, and validated at start-up (<c>ValidateOnStart</c>).
    /// Calling it again registers nothing twice; a second <paramref name="configure"/> runs after the first.
    /// </summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddResilience(this LlmAdaptBuilder builder, Action<LlmAdaptResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(LlmAdaptResilienceOptions.SectionName, configure);

        return builder;
    }
}
