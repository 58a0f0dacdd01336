using LlmAdapt.DependencyInjection;
using LlmAdapt.Onnx.Embeddings;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers LlmAdapt's local ONNX Runtime sentence embeddings.</summary>
public static class OnnxEmbeddingsServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="OnnxEmbeddingGenerator"/> as the singleton <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>
    /// of strings. Options are bound from the <c>LlmAdapt:Embeddings</c> configuration section when the builder has
    /// configuration, then changed by <paramref name="configure"/>, and validated when the host starts. Without a
    /// <see cref="OnnxEmbeddingOptions.ModelDirectory"/> the built-in all-MiniLM-L6-v2 is used.
    /// </summary>
    /// <param name="builder">The builder from <c>services.AddLlmAdapt(...)</c>.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddOnnxEmbeddings(this LlmAdaptBuilder builder, Action<OnnxEmbeddingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(OnnxEmbeddingOptions.SectionName, configure);

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnnxEmbeddingOptions>, ModelDirectoryValidator>());
        builder.Services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OnnxEmbeddingOptions>>().Value;
            var logger = sp.GetService<ILoggerFactory>()?.CreateLogger<OnnxEmbeddingGenerator>();
            return o.ModelDirectory is { } directory
                ? OnnxEmbeddingGenerator.Create(directory, o, logger)
                : OnnxEmbeddingGenerator.CreateDefault(o, logger);
        });
        builder.Services.TryAddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<OnnxEmbeddingGenerator>());
        return builder;
    }

    private sealed class ModelDirectoryValidator : IValidateOptions<OnnxEmbeddingOptions>
    {
        public ValidateOptionsResult Validate(string? name, OnnxEmbeddingOptions options)
        {
            if (options.ModelDirectory is { } directory && !Directory.Exists(directory))
            {
                return ValidateOptionsResult.Fail($"LlmAdapt:{OnnxEmbeddingOptions.SectionName}:{nameof(OnnxEmbeddingOptions.ModelDirectory)}: no such folder '{Path.GetFullPath(directory)}'.");
            }

            return ValidateOptionsResult.Success;
        }
    }
}
