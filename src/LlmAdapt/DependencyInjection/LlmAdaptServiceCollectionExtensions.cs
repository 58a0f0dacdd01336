using LlmAdapt.DependencyInjection;
using LlmAdapt.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers LlmAdapt's shared services.</summary>
public static class LlmAdaptServiceCollectionExtensions
{
    /// <summary>
    /// Registers LlmAdapt's shared services (options, <see cref="TokenCounter"/>, <see cref="TokenBudget"/>) and returns a
    /// builder for the packages' own registrations. Calling it again adds nothing twice.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Composes the pieces the host needs, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static LlmAdaptBuilder AddLlmAdapt(this IServiceCollection services, Action<LlmAdaptBuilder>? configure = null)
        => AddLlmAdaptCore(services, null, configure);

    /// <summary>
    /// Registers LlmAdapt's shared services with options bound from <paramref name="configuration"/> (the
    /// <c>LlmAdapt</c> section, or the root when it holds no such section) and validated at start-up.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The host's configuration, or its <c>LlmAdapt</c> section.</param>
    /// <param name="configure">Composes the pieces the host needs, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static LlmAdaptBuilder AddLlmAdapt(this IServiceCollection services, IConfiguration configuration, Action<LlmAdaptBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(LlmAdaptOptions.SectionName);
        return AddLlmAdaptCore(services, section.Exists() ? section : configuration, configure);
    }

    /// <summary>Configures <see cref="LlmAdaptOptions"/> in code (applied after configuration binding).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder Configure(this LlmAdaptBuilder builder, Action<LlmAdaptOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    private static LlmAdaptBuilder AddLlmAdaptCore(IServiceCollection services, IConfiguration? configuration, Action<LlmAdaptBuilder>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new LlmAdaptBuilder(services, configuration);

        if (!services.Any(d => d.ServiceType == typeof(LlmAdaptMarker)))
        {
            services.AddSingleton<LlmAdaptMarker>();
            builder.BindOptions<LlmAdaptOptions>(configuration, LlmAdaptOptions.SectionName, null);
            services.TryAddSingleton(sp => TokenCounter.ForModel(sp.GetRequiredService<IOptions<LlmAdaptOptions>>().Value.TokenizerModel));
            services.TryAddSingleton(sp =>
            {
                var o = sp.GetRequiredService<IOptions<LlmAdaptOptions>>().Value;
                return new TokenBudget(sp.GetRequiredService<TokenCounter>(), o.MaxPromptTokens, o.Overflow);
            });
            services.TryAddSingleton(TimeProvider.System);
        }

        configure?.Invoke(builder);
        return builder;
    }

    private sealed class LlmAdaptMarker;

}
