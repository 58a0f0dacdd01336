using LlmAdapt.DependencyInjection;
using LlmAdapt.Preference.Feedback;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers where user feedback is kept.</summary>
public static class FeedbackServiceCollectionExtensions
{
    /// <summary>The configuration section (under <c>LlmAdapt</c>) the store's options are bound from.</summary>
    public const string SectionName = "Feedback";

    /// <summary>
    /// Registers a <see cref="JsonLinesFeedbackStore"/> as the <see cref="IFeedbackStore"/> (a singleton), with
    /// <see cref="JsonLinesFeedbackStoreOptions"/> bound from <c>LlmAdapt:Feedback</c> when the builder has
    /// configuration, then changed by <paramref name="configure"/>, and validated at start-up. Calling it again adds
    /// nothing twice (a second <paramref name="configure"/> still applies).
    /// </summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="configure">Sets the path and the other options, or <see langword="null"/> to rely on configuration.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddJsonLinesFeedbackStore(this LlmAdaptBuilder builder, Action<JsonLinesFeedbackStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.Services.Any(d => d.ServiceType == typeof(JsonLinesFeedbackStore)))
        {
            builder.BindOptions<JsonLinesFeedbackStoreOptions>(SectionName);
            builder.Services.TryAddSingleton(sp => new JsonLinesFeedbackStore(
                sp.GetRequiredService<IOptions<JsonLinesFeedbackStoreOptions>>().Value,
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<JsonLinesFeedbackStore>>()));
            builder.Services.TryAddSingleton<IFeedbackStore>(sp => sp.GetRequiredService<JsonLinesFeedbackStore>());
        }

        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }
}
