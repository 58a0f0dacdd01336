using LlmAdapt.DependencyInjection;
using LlmAdapt.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers what <c>MapLlmAdaptOpenAI</c> needs.</summary>
public static class OpenAIServerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the OpenAI-compatible server's options and state. Options are bound from the
    /// <c>LlmAdapt:OpenAIServer</c> section when the builder has configuration, then <paramref name="configure"/> runs;
    /// they are validated at start-up (ranges, and each model name must have its keyed <c>IChatClient</c> or embedding
    /// generator). Calling it again adds further configuration and nothing else.
    /// </summary>
    /// <param name="builder">The builder from <c>AddLlmAdapt</c>.</param>
    /// <param name="configure">Sets the options in code (models served, keys, caps), or <see langword="null"/>.</param>
    /// <returns>The same builder.</returns>
    public static LlmAdaptBuilder AddOpenAIServer(this LlmAdaptBuilder builder, Action<OpenAIServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Bound and checked like every LlmAdapt options class (OptionsValidator); the validator below adds the checks
        // that need the container (each served name has its keyed service).
        builder.BindOptions(OpenAIServerOptions.SectionName, configure);

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OpenAIServerOptions>, OpenAIServerOptionsValidator>());
        builder.Services.TryAddSingleton<OpenAIServer>();
        return builder;
    }
}
