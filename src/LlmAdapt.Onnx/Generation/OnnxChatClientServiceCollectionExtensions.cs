using LlmAdapt.DependencyInjection;
using LlmAdapt.Onnx.Generation;
using Microsoft.Extensions.AI;
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
    /// <returns>The chat client pipeline, for <c>Use…</c> middleware (logging, token budgets, resilience); a second call returns the same pipeline and registers nothing twice.</returns>
    public static ChatClientBuilder AddOnnxChatClient(this LlmAdaptBuilder builder, Action<OnnxChatClientOptions>? configure = null, ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(OnnxChatClientOptions.SectionName, configure);

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnnxChatClientOptions>, ModelPathValidator>());
        if (builder.Services.FirstOrDefault(d => d.ServiceType == typeof(Registration))?.ImplementationInstance is Registration existing)
        {
            return existing.Pipeline;
        }

        builder.Services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OnnxChatClientOptions>>().Value;
            return OnnxDecoderModel.Load(o.ModelPath!, new OnnxDecoderModelOptions { IntraOpThreads = o.IntraOpThreads });
        });

        var pipeline = builder.Services.AddChatClient(
            sp => new OnnxChatClient(
                sp.GetRequiredService<OnnxDecoderModel>(),
                sp.GetRequiredService<IOptions<OnnxChatClientOptions>>().Value,
                sp.GetService<ILogger<OnnxChatClient>>()),
            lifetime);
        builder.Services.AddSingleton(new Registration(pipeline));
        return pipeline;
    }

    // Remembers the pipeline so a second call returns it (and its middleware) instead of registering a second client.
    private sealed record Registration(ChatClientBuilder Pipeline);

    private sealed class ModelPathValidator : IValidateOptions<OnnxChatClientOptions>
    {
        public ValidateOptionsResult Validate(string? name, OnnxChatClientOptions options)
            => !string.IsNullOrWhiteSpace(options.ModelPath) && Directory.Exists(options.ModelPath)
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"LlmAdapt:{OnnxChatClientOptions.SectionName}:{nameof(OnnxChatClientOptions.ModelPath)} must name an existing model folder{(string.IsNullOrWhiteSpace(options.ModelPath) ? string.Empty : $" ('{Path.GetFullPath(options.ModelPath)}' is not one)")}.");
    }
}
