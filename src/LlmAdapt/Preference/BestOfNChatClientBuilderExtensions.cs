using LlmAdapt.Preference;
using LlmAdapt.Preference.Feedback;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.AI;

/// <summary>Adds <see cref="BestOfNChatClient"/> to a chat pipeline.</summary>
public static class BestOfNChatClientBuilderExtensions
{
    /// <summary>
    /// Asks for several candidates and keeps the one <paramref name="scorer"/> scores highest. Without a scorer, an
    /// <see cref="IResponseScorer"/> is resolved from the services when the pipeline is built (for example a reward model
    /// registered with <c>AddRewardModelScorer</c>).
    /// </summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="scorer">The scorer, or <see langword="null"/> to resolve one.</param>
    /// <param name="configure">Sets n and the concurrency bound, or <see langword="null"/> for the defaults.</param>
    /// <param name="feedbackStore">
    /// Where candidates are recorded when <see cref="BestOfNOptions.RecordRankings"/> is set, or <see langword="null"/> to
    /// resolve an <see cref="IFeedbackStore"/> from the services (for example one added with <c>AddJsonLinesFeedbackStore</c>).
    /// </param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="LlmAdapt.InvalidOptionsException">The options are out of range (checked now, not at the first request); every problem is listed.</exception>
    public static ChatClientBuilder UseBestOfN(this ChatClientBuilder builder, IResponseScorer? scorer = null, Action<BestOfNOptions>? configure = null, IFeedbackStore? feedbackStore = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new BestOfNOptions();
        configure?.Invoke(options);
        options.Validate();
        return builder.Use((inner, services) => new BestOfNChatClient(
            inner,
            scorer ?? services.GetRequiredService<IResponseScorer>(),
            options,
            services.GetService<ILogger<BestOfNChatClient>>(),
            options.RecordRankings ? feedbackStore ?? services.GetRequiredService<IFeedbackStore>() : null));
    }
}
