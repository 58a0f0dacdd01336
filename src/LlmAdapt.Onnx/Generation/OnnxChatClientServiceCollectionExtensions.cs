using LlmAdapt.DependencyInjection;
using LlmAdapt.Onnx.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a local ONNX decoder model as the host's <see cref="IChatClient"/>.</summary>
public static class OnnxChatClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="OnnxChatClient"/> as <see cref="IChatClient"/>, over an <see cref="OnnxDecoderModel"/>
    /// singleton loaded from <see cref="OnnxChatClientOptions.ModelPath"/> on first use. Options are bound from the
    /// <c>LlmAdapt:OnnxChatClient</c> section when the builder has configuration, then <paramref name="configure"/>
    /// runs; they are validated at start-up (the model folder must exist).
    /// </summary>
    /// <param name="builder">The builder from <c>AddLlmAdapt</c>.</param>
    /// <param name="configure">Sets the options in code, or <see langword="null"/>.</param>
    /// <param name="lifetime">The chat client's lifetime; the model itself is always a singleton.</param>
    /// <returns>The chat client pipeline, for <c>Use…</c> middleware (logging, token budgets, resilience).</returns>
    public static ChatClientBuilder AddOnnxChatClient(this LlmAdaptBuilder builder, Action<OnnxChatClientOptions>? configure = null, ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<OnnxChatClientOptions>();
        if (builder.GetSection(OnnxChatClientOptions.SectionName) is { } section && section.Exists())
        {
            options.Bind(section);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateDataAnnotations()
            .Validate(o => !string.IsNullOrWhiteSpace(o.ModelPath) && Directory.Exists(o.ModelPath), $"LlmAdapt:{OnnxChatClientOptions.SectionName}:{nameof(OnnxChatClientOptions.ModelPath)} must name an existing model folder.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OnnxChatClientOptions>>().Value;
            return OnnxDecoderModel.Load(o.ModelPath!, new OnnxDecoderModelOptions { IntraOpThreads = o.IntraOpThreads });
        });

        return builder.Services.AddChatClient(
            sp => new OnnxChatClient(
                sp.GetRequiredService<OnnxDecoderModel>(),
                sp.GetRequiredService<IOptions<OnnxChatClientOptions>>().Value,
                sp.GetService<ILogger<OnnxChatClient>>()),
            lifetime);
    }
}
