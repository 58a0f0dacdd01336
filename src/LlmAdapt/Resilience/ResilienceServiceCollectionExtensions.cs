using LlmAdapt.DependencyInjection;
using LlmAdapt.Resilience;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the resilience options that <c>UseLlmAdaptResilience()</c> picks up.</summary>
public static class ResilienceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LlmAdaptResilienceOptions"/>, bound from <c>LlmAdapt:Resilience</c> when the builder has
    /// configuration, then changed by <paramref name="configure"/>, and validated at start-up (<c>ValidateOnStart</c>).
    /// Calling it again adds nothing twice.
    /// </summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddResilience(this LlmAdaptBuilder builder, Action<LlmAdaptResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.Services.Any(d => d.ServiceType == typeof(IValidateOptions<LlmAdaptResilienceOptions>) && d.ImplementationType == typeof(ResilienceOptionsValidator)))
        {
            var options = builder.Services.AddOptions<LlmAdaptResilienceOptions>();
            if (builder.GetSection(LlmAdaptResilienceOptions.SectionName) is { } section)
            {
                options.Bind(section);
            }

            options.ValidateOnStart();
            builder.Services.AddSingleton<IValidateOptions<LlmAdaptResilienceOptions>, ResilienceOptionsValidator>();
        }

        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    private sealed class ResilienceOptionsValidator : IValidateOptions<LlmAdaptResilienceOptions>
    {
        public ValidateOptionsResult Validate(string? name, LlmAdaptResilienceOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (OptionsValidationProblemException ex)
            {
                return ValidateOptionsResult.Fail(ex.Problems);
            }
        }
    }
}
